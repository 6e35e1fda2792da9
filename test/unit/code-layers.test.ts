import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The code layers (CONTRIBUTING.md, "Layers"; docs/architecture.md, "Code layers"): each layer
 * imports contract/ and itself only, enforced by biome.json's noRestrictedImports overrides. These
 * tests lint probe files with the repository's own biome.json, so a rule that stops biting fails
 * here, and check that the docs list exactly the folders that exist.
 */
const ROOT = path.join(__dirname, '..', '..');
const BIOME = path.join(ROOT, 'node_modules', '.bin', 'biome');

interface Probe {
  /** Where the probe file sits (repo-relative). */
  readonly file: string;
  /** What it imports. */
  readonly from: string;
  readonly allowed: boolean;
}

const PROBES: readonly Probe[] = [
  { file: 'contract/probe.ts', from: './env-vars', allowed: true },
  { file: 'contract/probe.ts', from: '../lambda/runtime/settings', allowed: false },
  { file: 'contract/probe.ts', from: '@aws-sdk/client-kms', allowed: false },
  { file: 'contract/probe.ts', from: 'aws-cdk-lib/aws-iam', allowed: false },
  { file: 'lib/constructs/probe.ts', from: '../../contract/env-vars', allowed: true },
  { file: 'lib/constructs/probe.ts', from: '../config/schema', allowed: true },
  { file: 'lib/constructs/probe.ts', from: '../../lambda/runtime/settings', allowed: false },
  { file: 'lib/constructs/probe.ts', from: '../../cli/io', allowed: false },
  { file: 'lib/probe.ts', from: '@aws-sdk/client-secrets-manager', allowed: false },
  { file: 'examples/probe.ts', from: '../lambda/aws/token-cache', allowed: false },
  { file: 'bin/app.ts', from: '../lambda/handlers/mint-token', allowed: false },
  { file: 'bin/broker.ts', from: '../lib/token-broker', allowed: false },
  { file: 'client/probe.ts', from: '../contract/backoff', allowed: true },
  { file: 'client/probe.ts', from: './errors', allowed: true },
  { file: 'client/probe.ts', from: '../lambda/upstream/retry', allowed: false },
  { file: 'client/probe.ts', from: '../lib/config/schema', allowed: false },
  { file: 'client/probe.ts', from: '..', allowed: false },
  { file: 'cli/commands/probe.ts', from: '../../contract/mint-token-payload', allowed: true },
  { file: 'cli/commands/probe.ts', from: '../../lambda/aws/mint-token-invoker', allowed: true },
  { file: 'cli/commands/probe.ts', from: '../../lib/config/load-config', allowed: true },
  { file: 'cli/commands/probe.ts', from: '../../lambda/minting/token-minter', allowed: false },
  { file: 'cli/commands/probe.ts', from: '../../lambda/handlers/mint-token', allowed: false },
  { file: 'cli/commands/probe.ts', from: '../../lib/token-broker', allowed: false },
  { file: 'cli/commands/probe.ts', from: '../../client', allowed: true },
  { file: 'cli/commands/probe.ts', from: '../../client/token-client', allowed: false },
  { file: 'lambda/minting/probe.ts', from: '../../contract/error-registry', allowed: true },
  { file: 'lambda/minting/probe.ts', from: '../aws/token-cache', allowed: true },
  { file: 'lambda/minting/probe.ts', from: '../../lib/config/schema', allowed: false },
  { file: 'lambda/minting/probe.ts', from: '../../cli/io', allowed: false },
  { file: 'lambda/minting/probe.ts', from: '../handlers/mint-token', allowed: false },
  { file: 'lambda/minting/probe.ts', from: '../../client', allowed: false },
  { file: 'lib/probe.ts', from: '../lambda', allowed: false },
];

/** Lints every probe in a scratch copy of the layout with the repository's biome.json; returns the refused files. */
function refusedProbes(probes: readonly Probe[]): Set<string> {
  const dir = mkdtempSync(path.join(tmpdir(), 'layers-'));
  copyFileSync(path.join(ROOT, 'biome.json'), path.join(dir, 'biome.json'));
  const files = probes.map((probe, i) => {
    const file = probe.file.replace(/probe\.ts$/, `probe${i}.ts`);
    mkdirSync(path.join(dir, path.dirname(file)), { recursive: true });
    writeFileSync(
      path.join(dir, file),
      `import { probed } from '${probe.from}';\n\nexport const used = probed;\n`,
    );
    return file;
  });
  let output: string;
  try {
    output = execFileSync(
      BIOME,
      ['lint', '--vcs-enabled=false', '--reporter=json', '--only=style/noRestrictedImports', ...files],
      { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
    );
  } catch (error) {
    output = (error as { stdout: string }).stdout; // exit code 1 when a probe is refused
  }
  const report = JSON.parse(output) as { diagnostics: { category: string; location: { path: string } }[] };
  return new Set(
    report.diagnostics
      .filter((d) => d.category === 'lint/style/noRestrictedImports')
      .map((d) => d.location.path),
  );
}

const subfolders = (folder: string) =>
  readdirSync(path.join(ROOT, folder), { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();

describe('code layers', () => {
  it('biome refuses every import across a layer and lets every allowed one through', () => {
    const refused = refusedProbes(PROBES);
    const verdicts = PROBES.map((probe, i) => ({
      ...probe,
      allowed: !refused.has(probe.file.replace(/probe\.ts$/, `probe${i}.ts`)),
    }));
    expect(verdicts).toEqual(PROBES);
  });

  it('lambda/ is grouped by concern, each folder with a README saying what lives there', () => {
    const folders = subfolders('lambda');
    expect(folders).toEqual(
      [
        'aws',
        'errors',
        'handlers',
        'minting',
        'proxy',
        'rotation',
        'runtime',
        'serving',
        'token',
        'upstream',
      ].sort(),
    );
    expect(readdirSync(path.join(ROOT, 'lambda')).filter((f) => f.endsWith('.ts'))).toEqual([]);
    for (const folder of [...folders.map((f) => `lambda/${f}`), 'contract']) {
      expect(readFileSync(path.join(ROOT, folder, 'README.md'), 'utf8')).toMatch(/^# \S+\n\n\S/);
    }
  });

  it("README's code layers and docs/architecture.md name exactly the folders that exist", () => {
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const layers = readme.slice(
      readme.indexOf('Code layers, visible in the folders'),
      readme.indexOf('### How'),
    );
    const architecture = readFileSync(path.join(ROOT, 'docs', 'architecture.md'), 'utf8');
    const table = architecture.slice(
      architecture.indexOf('## Code layers'),
      architecture.indexOf('## Data flows'),
    );
    const lambdaFolders = subfolders('lambda');
    for (const folder of lambdaFolders) {
      expect(layers, `README names lambda/${folder}/`).toContain(`\`${folder}/\``);
      expect(table, `architecture.md names lambda/${folder}/`).toContain(`\`lambda/${folder}/\``);
    }
    const named = [...table.matchAll(/^\| `lambda\/(\w+)\/` \|/gm)].map((m) => m[1]).sort();
    expect(named).toEqual(lambdaFolders);
    for (const top of ['contract', 'lambda', 'lib', 'cli', 'client', 'bin', 'examples']) {
      expect(existsSync(path.join(ROOT, top))).toBe(true);
      expect(layers).toContain(`\`${top}/\``);
      expect(table).toContain(`\`${top}/`);
    }
  });

  it('contract/ lists every file it holds in its README', () => {
    const readme = readFileSync(path.join(ROOT, 'contract', 'README.md'), 'utf8');
    const listed = [...readme.matchAll(/^\| `([\w-]+\.ts)` \|/gm)].map((m) => m[1]).sort();
    const files = readdirSync(path.join(ROOT, 'contract'))
      .filter((f) => f.endsWith('.ts'))
      .sort();
    expect(listed).toEqual(files);
  });
});
