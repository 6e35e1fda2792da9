import * as path from 'node:path';
import { PROJECT_ROOT } from '../test/kit/builders/cdk-context';
import { benchColdStart } from './cold-start';
import { benchDevLoop } from './dev-loop';
import { benchProxyMode } from './proxy-mode';
import { startBenchEnv } from './support/bench-env';
import { describeMachine } from './support/machine';
import { printSection, type ReportSection, writeMarkdownReport } from './support/report';
import { benchUpstreamLoad } from './upstream-load';
import { benchUpstreamOutage } from './upstream-outage';
import { benchWarmPath } from './warm-path';

/**
 * `npm run bench`: every benchmark, side by side with its baseline in the same run, printed as
 * tables and written to docs/benchmarks.md. `--quick` uses fewer runs (for a smoke check).
 */
async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const started = Date.now();
  const machine = describeMachine();
  console.log(`ThroughLine token broker benchmarks — ${machine}`);
  const env = await startBenchEnv();
  const sections: ReportSection[] = [];
  try {
    sections.push(
      await benchUpstreamLoad(env, {
        instances: quick ? 4 : 8,
        concurrencyPerInstance: 3,
        durationSeconds: quick ? 20 : 60,
        tokenLifetimeSeconds: 16,
        refreshScheduleSeconds: 2,
      }),
    );
    printSection(sections[sections.length - 1] as ReportSection);
    sections.push(
      await benchUpstreamOutage(env, {
        simulatedMinutes: quick ? 10 : 60,
        compression: quick ? 20 : 60,
        baselineSeconds: quick ? 10 : 20,
        instances: 6,
        askEveryMs: 250,
      }),
    );
    printSection(sections[sections.length - 1] as ReportSection);
    sections.push(
      await benchProxyMode(env, { requests: quick ? 200 : 1_000, latencySamples: quick ? 50 : 300 }),
    );
    printSection(sections[sections.length - 1] as ReportSection);
    sections.push(await benchWarmPath(env, quick ? 10_000 : 100_000, quick ? 50 : 300));
    printSection(sections[sections.length - 1] as ReportSection);
    sections.push(await benchColdStart(env, quick ? 3 : 10));
    printSection(sections[sections.length - 1] as ReportSection);
  } finally {
    await env.stop();
  }
  sections.push(benchDevLoop(quick ? 1 : 3, !quick));
  printSection(sections[sections.length - 1] as ReportSection);

  const minutes = ((Date.now() - started) / 60_000).toFixed(1);
  writeMarkdownReport(
    path.join(PROJECT_ROOT, 'docs', 'benchmarks.md'),
    [
      '# Benchmarks',
      `Produced by \`npm run bench${quick ? ' -- --quick' : ''}\` on ${new Date().toISOString().slice(0, 10)} in ${minutes} min. Machine: ${machine}. Local stand-ins: moto_server for AWS, a local HTTPS token server for ThroughLine. Do not edit by hand: rerun the command.`,
    ],
    sections,
  );
  console.log(`\nWrote docs/benchmarks.md (${minutes} min).`);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
