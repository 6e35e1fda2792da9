import { spawnSync } from 'node:child_process';
import { PROJECT_ROOT } from '../test/kit/builders/cdk-context';
import type { ReportSection } from './support/report';
import { fmt, median } from './support/stats';

function timeCommand(command: string, args: string[]): number {
  const started = process.hrtime.bigint();
  const result = spawnSync(command, args, {
    cwd: PROJECT_ROOT,
    stdio: 'ignore',
    env: { ...process.env, CDK_DISABLE_CLI_TELEMETRY: 'true' },
  });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (exit ${result.status})`);
  return Number(process.hrtime.bigint() - started) / 1e9;
}

/** Developer loop: how long `cdk synth` (with bundling and cdk-nag) and the test suite take. */
export function benchDevLoop(synthRuns: number, includeTests: boolean): ReportSection {
  const synth = Array.from({ length: synthRuns }, () => timeCommand('npx', ['cdk', 'synth', '--quiet']));
  const rows = [
    ['npx cdk synth --quiet (default stage, bundling + cdk-nag)', `${synthRuns}`, fmt(median(synth), 2)],
  ];
  if (includeTests)
    rows.push(['npm test (whole suite)', '1', fmt(timeCommand('npm', ['test', '--silent']), 1)]);
  return {
    title: 'Developer loop',
    method: 'Wall-clock seconds; synth is the median of several runs.',
    columns: ['command', 'runs', 'seconds'],
    rows,
  };
}
