import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { LambdaInvokeEmulator } from '../kit/emulators/lambda-invoke';
import { FakeTokenServer } from '../kit/fakes/token-server';
import { deployBrokerOutputs, runCli, useMotoCredentials } from '../kit/runners/cli-harness';
import { awsClientConfig, makeCredentials } from '../kit/vitest/broker-fixture';
import { expectNoSecretIn } from '../kit/vitest/leaks';
import { RotationFixture } from '../kit/vitest/rotation-fixture';

/** `broker token refresh|flush` against moto and the bundled mint-token behind a local Lambda Invoke stand-in. */
let server: FakeTokenServer;
let lambdaServer: LambdaInvokeEmulator;

beforeAll(async () => {
  useMotoCredentials();
  server = await FakeTokenServer.start(inject('trustedTls'));
  lambdaServer = await LambdaInvokeEmulator.start();
});
afterAll(async () => {
  await server.stop();
  await lambdaServer.stop();
});
beforeEach(() => {
  server.reset();
  lambdaServer.reset();
});

async function deployed() {
  const creds = makeCredentials();
  const fixture = await RotationFixture.create(creds, lambdaServer, server.url);
  const { stage } = await deployBrokerOutputs(awsClientConfig(), {
    secretArn: fixture.secretArn,
    mintTokenFunctionName: fixture.mintTokenFunctionName,
  });
  const env = {
    AWS_REGION: 'us-east-1',
    AWS_ENDPOINT_URL: inject('motoEndpoint'),
    AWS_ENDPOINT_URL_LAMBDA: lambdaServer.url,
  };
  const cli = (args: string[]) => runCli(['--stage', stage, 'token', ...args], { env });
  return { fixture, creds, cli };
}

describe('token refresh', () => {
  it('mints when the cache is empty, then reports the fresh token without minting; --force mints anyway', async () => {
    const { fixture, creds, cli } = await deployed();
    const version = await fixture.versionWith('AWSCURRENT');

    const first = await cli(['refresh']);
    const second = await cli(['refresh']);
    const forced = await cli(['refresh', '--force']);

    expect(first.error).toBeUndefined();
    expect(first.text).toMatch(
      new RegExp(
        `Minted a new token \\(empty, 1 attempt\\): expires \\S+ \\(in 3\\d{3} s\\), credentials version ${version}`,
      ),
    );
    expect(second.text).toMatch(/The cached token is fresh: .*Nothing to do \(--force mints anyway\)/);
    expect(forced.text).toMatch(/Minted a new token \(forced, 1 attempt\)/);
    expect(server.requests).toHaveLength(2);
    expect(lambdaServer.invocations.map((i) => i.payload)).toEqual([
      { action: 'refresh', requestedBy: expect.stringMatching(/^cli/) },
      { action: 'refresh', requestedBy: expect.stringMatching(/^cli/) },
      { action: 'refresh', force: true, requestedBy: expect.stringMatching(/^cli/) },
    ]);
    expectNoSecretIn([first.text, second.text, forced.text], [creds.client_secret, ...server.issuedTokens]);
  });

  it('a mint-token failure is reported with its error class and advice, not a stack trace', async () => {
    const { cli } = await deployed();
    server.fallback = { kind: 'json', status: 401, body: { error: 'invalid_client' } };

    const run = await cli(['refresh']);

    expect(run.error?.name).toBe('MintFailedError');
    expect(run.error?.message).toMatch(
      /mint-token failed with InvalidClientError: ThroughLine rejected the client credentials/,
    );
  });

  it('rejects unexpected arguments', async () => {
    const run = await runCli(['token', 'refresh', 'now']);

    expect(run.error?.message).toMatch(/too many arguments/);
  });
});

describe('token flush', () => {
  it('removes the cached token, then says the cache is empty', async () => {
    const { fixture, cli } = await deployed();
    await fixture.mint();

    const first = await cli(['flush']);
    const second = await cli(['flush']);

    expect(first.text).toMatch(/Removed the cached token/);
    expect(second.text).toMatch(/already empty/);
    expect(await fixture.broker.rawCachedItem()).toBeUndefined();
  });
});

describe('the upstream gate, whoever asks', () => {
  it('429 with Retry-After 600: serve-token, the schedule and `token refresh` make no upstream request after the first; the override makes one; `token status` says until when and why', async () => {
    const { fixture, creds, cli } = await deployed();
    server.enqueue({
      kind: 'json',
      status: 429,
      body: { error: 'rate_limited' },
      headers: { 'retry-after': '600' },
    });

    // The first asker reaches ThroughLine and is told to slow down for 600 s.
    const first = await cli(['refresh']);
    expect(server.requests).toHaveLength(1);
    expect(first.error?.message).toMatch(
      /^ThroughLine was asked and failed, and the upstream gate closed \(upstream unavailable, last failure upstream unavailable\); it lets the next request through in (59\d|600) s/,
    );
    expect(first.error?.message).toMatch(/token refresh --override-gate --reason "<why>"/);

    // Inside the window nobody else reaches it: a serve-token instance, the schedule, the CLI again.
    const served = await fixture.serveFreshInstance();
    const scheduled = (await fixture.mint({ action: 'refresh', requestedBy: 'schedule' })) as Record<
      string,
      unknown
    >;
    const again = await cli(['refresh']);
    const forcedWithoutOverride = await cli(['refresh', '--force']);
    expect(server.requests).toHaveLength(1);
    expect(served.status).toBe(503);
    expect(scheduled).toMatchObject({ outcome: 'deferred', reason: 'rate_limited', attempted: false });
    expect(Number(scheduled.retryAfterSeconds)).toBeGreaterThan(590);
    for (const run of [again, forcedWithoutOverride]) {
      expect(run.error?.message).toMatch(
        /^ThroughLine was not asked: the upstream gate is closed \(rate limited, last failure upstream unavailable\); it lets the next request through in (59\d|600) s/,
      );
    }

    const status = await cli(['status']);
    expect(status.error).toBeUndefined();
    expect(status.out).toEqual([
      'The token cache is empty.',
      expect.stringMatching(
        /^Upstream gate closed until \S+ \(in (59\d|600) s\) \(after 1 failure\(s\), last: upstream unavailable\); 1 of 200 upstream requests used in the last 24 h\.$/,
      ),
    ]);

    // The operator's override (reason required) is the one way past the gate.
    const noReason = await cli(['refresh', '--override-gate']);
    expect(noReason.error?.message).toMatch(/--override-gate needs --reason/);
    expect(server.requests).toHaveLength(1);
    const overridden = await cli([
      'refresh',
      '--override-gate',
      '--reason',
      'ThroughLine confirmed the limit was lifted',
    ]);
    expect(overridden.error).toBeUndefined();
    expect(overridden.text).toMatch(/Minted a new token \(empty, 1 attempt\)/);
    expect(server.requests).toHaveLength(2);
    const overrideLog = lambdaServer
      .allText()
      .flatMap((text) => text.split('\n'))
      .filter((line) => line.includes('Upstream gate overridden by an operator'));
    expect(overrideLog).toHaveLength(1);
    expect(overrideLog[0]).toContain('ThroughLine confirmed the limit was lifted');
    // Counted, for the UpstreamGateOverridden alarm (a ticket).
    expect(lambdaServer.allText().join('\n')).toMatch(/"UpstreamGateOverridden":1\b/);

    expectNoSecretIn(
      [first.text, again.text, status.text, overridden.text, ...lambdaServer.allText()],
      [creds.client_secret, ...server.issuedTokens],
    );
  });
});
