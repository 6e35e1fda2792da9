import type { Command } from 'commander';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CliIo } from '../../cli/io';
import { buildProgram } from '../../cli/program';
import { FakeTokenApi } from '../kit/fakes/fake-token-api';

/** `broker token get` against a local token API that verifies SigV4, with the default credential chain. */
const CREDENTIALS = { accessKeyId: 'AKIDCLITEST', secretAccessKey: 'cli-test-secret-key' };

let api: FakeTokenApi;
const saved = { ...process.env };
beforeAll(async () => {
  api = await FakeTokenApi.start(CREDENTIALS, 'eu-west-2');
});
afterAll(async () => {
  await api.stop();
});
beforeEach(() => {
  api.reset();
  process.env.AWS_ACCESS_KEY_ID = CREDENTIALS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = CREDENTIALS.secretAccessKey;
  delete process.env.AWS_SESSION_TOKEN;
});
afterEach(() => {
  process.env = { ...saved };
});

async function run(...args: string[]): Promise<{ out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = {
    out: (line) => out.push(line),
    err: (line) => err.push(line),
    readStdin: async () => '',
    stdinIsTty: false,
    env: process.env,
  };
  const program = buildProgram(io);
  // Commander errors throw instead of exiting the test process (each subcommand has its own setting).
  const overrideExit = (command: Command): void => {
    command.exitOverride();
    command.commands.forEach(overrideExit);
  };
  overrideExit(program);
  await program.parseAsync([
    'node',
    'broker',
    '--region',
    'eu-west-2',
    'token',
    'get',
    '--api-url',
    api.url,
    ...args,
  ]);
  return { out, err };
}

describe('broker token get', () => {
  it('prints metadata but not the token by default', async () => {
    const { out } = await run();

    const token = api.issuedTokens[0] as string;
    expect(api.requests[0]?.signatureValid).toBe(true);
    expect(out.join('\n')).not.toContain(token);
    expect(out.join('\n')).toMatch(/Token type:\s+Bearer/);
    expect(out.join('\n')).toMatch(/Expires at:\s+\d{4}-\d{2}-\d{2}T.*\(in \d+ s\)/);
    expect(out.join('\n')).toMatch(/--print-token/);
  });

  it('--print-token prints the token alone, for piping', async () => {
    const { out } = await run('--print-token');

    expect(out).toEqual([api.issuedTokens[0]]);
  });

  it('--json prints metadata JSON without the token; with --print-token it includes access_token', async () => {
    const plain = await run('--json');
    const withToken = await run('--json', '--print-token');

    const metadata = JSON.parse(plain.out[0] as string);
    expect(Object.keys(metadata).sort()).toEqual([
      'endpoint',
      'expires_at',
      'expires_at_iso',
      'expires_in',
      'token_type',
    ]);
    expect(plain.out.join('\n')).not.toContain(api.issuedTokens[0]);
    expect(JSON.parse(withToken.out[0] as string).access_token).toBe(api.issuedTokens[1]);
  });

  it('--min-ttl is sent as min_ttl', async () => {
    await run('--min-ttl', '600');

    expect(api.requests[0]?.query).toEqual({ min_ttl: '600' });
  });

  it('a 403 fails with a message saying what to grant, and prints no token', async () => {
    api.fallback = { kind: 'status', status: 403, body: { Message: 'not authorized' } };

    await expect(run('--print-token')).rejects.toThrow(/execute-api:Invoke on the TokenInvokeArn/);
  });

  it('--min-ttl that is not a whole number is rejected before any request', async () => {
    await expect(run('--min-ttl', 'soon')).rejects.toThrow(/whole number of seconds/);
    expect(api.requests).toHaveLength(0);
  });
});
