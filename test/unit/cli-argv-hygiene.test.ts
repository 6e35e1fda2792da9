import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { redactCommanderMessage } from '../../cli/argv-hygiene';
import { PROJECT_ROOT } from '../kit/builders/cdk-context';
import { runCli } from '../kit/runners/cli-harness';

/** Nothing typed on the command line is repeated back: a secret pasted into the wrong place stays off screen. */
const SECRET = 'S3cr3t-on-argv-0123456789';

describe('CLI: no argument value is echoed', () => {
  it.each([
    ['an unknown option at program level', ['--client-secret', SECRET]],
    ['an unknown option=value at program level', [`--client-secret=${SECRET}`]],
    ['an unknown command at program level', [SECRET]],
    ['an unknown command in a group', ['credentials', SECRET]],
    ['an unknown option in a group', ['credentials', `--secret=${SECRET}`]],
    ['an unknown option on a command', ['token', 'get', `--x=${SECRET}`]],
    ['a bad --timeout value', ['credentials', 'rotate', '--timeout', SECRET]],
    ['a bad --timeout=value', ['credentials', 'rotate', `--timeout=${SECRET}`]],
    ['a bad --min-ttl value', ['token', 'get', '--min-ttl', SECRET]],
    ['an extra argument', ['credentials', 'status', SECRET]],
  ])('%s', async (_, args) => {
    // Act
    const run = await runCli(args);

    // Assess
    expect(run.error).toBeDefined();
    expect(run.text).not.toContain(SECRET.slice(0, 8));
    expect(run.text).toMatch(/error: /);
  });

  it('keeps our own reason for a bad option value', async () => {
    const run = await runCli(['credentials', 'rotate', '--timeout', 'soon']);
    expect(run.err.join('\n')).toContain('option --timeout: invalid value');
    expect(run.err.join('\n')).toContain('must be a positive whole number');
  });

  it.each([
    "error: unknown option '--client-secret=abc'",
    "error: unknown command 'abc'",
    "error: option '--timeout <seconds>' argument 'abc' is invalid. must be a positive whole number",
    "error: something new that quotes 'abc'",
  ])('redacts %s', (message) => {
    expect(redactCommanderMessage(message)).not.toContain('abc');
  });
});

describe("the README's entry point", () => {
  it('`npm run -s broker -- …` prints neither its argv nor the SDK warning', () => {
    // Act
    const result = spawnSync(
      'npm',
      ['run', '-s', 'broker', '--', '--stage', 'x', `--client-secret=${SECRET}`],
      {
        cwd: PROJECT_ROOT,
        encoding: 'utf8',
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' },
        timeout: 60_000,
      },
    );

    // Assess
    const text = `${result.stdout}\n${result.stderr}`;
    expect(result.status).toBe(1);
    expect(text).toContain('error: unknown option');
    expect(text).not.toContain(SECRET.slice(0, 8));
    expect(text).not.toContain('NodeVersionSupportWarning');
  });
});
