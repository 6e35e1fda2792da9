import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { MetricName } from '../../contract/metric-names';
import { OPERATOR_ALIAS } from '../../contract/mint-token-payload';
import { emfMetricNames } from '../kit/builders/emf';
import { FakeTokenServer } from '../kit/fakes/token-server';
import { type InvokeOutcome, invokeBundled } from '../kit/runners/invoke-bundled';
import { BrokerFixture, makeCredentials, type TestCredentials } from '../kit/vitest/broker-fixture';
import { expectNoSecretIn } from '../kit/vitest/leaks';

/**
 * The bundled mint-token handler (as `cdk synth` packages it) against moto_server (Secrets Manager,
 * DynamoDB, KMS) and a local HTTPS token endpoint. Each invocation runs in a fresh Node process.
 */
interface MintResult {
  outcome: string;
  why?: string;
  attempts?: number;
  mintedAt: number;
  expiresAt: number;
  refreshAt: number;
  credentialVersionId: string;
}

const mintToken = () => {
  const fn = inject('bundledFunctions').MintToken;
  if (!fn) throw new Error('MintToken bundle not found in the synthesized app');
  return fn;
};

let server: FakeTokenServer;
let untrustedServer: FakeTokenServer;

beforeAll(async () => {
  server = await FakeTokenServer.start(inject('trustedTls'));
  untrustedServer = await FakeTokenServer.start(inject('untrustedTls'));
});
afterAll(async () => {
  await server.stop();
  await untrustedServer.stop();
});
beforeEach(() => {
  server.reset();
  untrustedServer.reset();
});

type SettingsPatch = (s: Record<string, Record<string, unknown>>) => void;

async function invoke(
  fixture: BrokerFixture,
  events: readonly unknown[],
  patch: SettingsPatch = () => {},
  tokenUrl = server.url,
  invokedFunctionArn?: string,
): Promise<InvokeOutcome<MintResult>> {
  const env = fixture.functionEnv(mintToken().environment, (s) => {
    s.upstream = {
      ...s.upstream,
      tokenUrl,
      requestTimeoutMs: 1_000,
      totalBudgetMs: 10_000,
      backoffBaseMs: 10,
      backoffCapMs: 50,
    };
    // The fleet-wide gate's backoff shrunk to the in-invocation scale above, so retries within one
    // invocation stay quick (the gate's own timing is tested in test/unit/upstream-gate.test.ts).
    s.gate = { ...s.gate, backoffBaseSeconds: 0.01, backoffCapSeconds: 0.05 };
    patch(s);
  });
  return invokeBundled<MintResult>({
    bundle: mintToken().bundle,
    env: invokedFunctionArn ? { ...env, LOCAL_INVOKED_FUNCTION_ARN: invokedFunctionArn } : env,
    events,
  });
}

/** mint-token's operator alias (the CLI's entry point): the only one that may force or flush. */
const OPERATOR_ARN = `arn:aws:lambda:us-east-1:123456789012:function:mint-token:${OPERATOR_ALIAS}`;

function allText(outcome: InvokeOutcome): string[] {
  return [...outcome.logLines, JSON.stringify(outcome.results)];
}

function expectNoLeak(
  outcome: InvokeOutcome,
  creds: TestCredentials | undefined,
  extra: string[] = [],
): void {
  expectNoSecretIn(allText(outcome), [
    ...(creds ? [creds.client_secret] : []),
    ...server.issuedTokens,
    ...untrustedServer.issuedTokens,
    ...extra,
  ]);
}

function metricsEmitted(outcome: InvokeOutcome): string[] {
  return emfMetricNames(outcome.logRecords);
}

function only<T>(outcome: InvokeOutcome<T>) {
  expect(outcome.results).toHaveLength(1);
  return outcome.results[0] as (typeof outcome.results)[number];
}

describe('mint-token (bundled) — success and idempotence', () => {
  it('mints with client_secret_post over HTTPS and stores the token encrypted', async () => {
    const creds = makeCredentials();
    const fixture = await BrokerFixture.create(creds);

    const outcome = await invoke(fixture, [{ action: 'ensure' }]);

    const result = only(outcome);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value.outcome).toBe('minted');
    expect(result.value.expiresAt - result.value.mintedAt).toBe(3600);
    expect(result.value.refreshAt - result.value.mintedAt).toBe(2700);
    expect(server.requests).toHaveLength(1);
    const request = server.requests[0];
    expect(request?.form).toEqual({
      grant_type: 'client_credentials',
      client_id: creds.client_id,
      client_secret: creds.client_secret,
    });
    expect(request?.headers.authorization).toBeUndefined();
    expect(request?.headers['content-type']).toMatch(/^application\/x-www-form-urlencoded/);

    // Table read access alone reveals nothing: the token is not in the item in any form.
    const item = await fixture.rawCachedItem();
    expect(item).toBeDefined();
    expect(item?.credentialVersionId?.S).toBe(result.value.credentialVersionId);
    expectNoSecretIn([JSON.stringify(item)], server.issuedTokens);
    expect(metricsEmitted(outcome)).toEqual(
      expect.arrayContaining([MetricName.TokenMinted, MetricName.UpstreamTokenRequest]),
    );
    expectNoLeak(outcome, creds);
  });

  it('a second invocation finds the fresh token and makes no upstream call', async () => {
    const creds = makeCredentials();
    const fixture = await BrokerFixture.create(creds);

    const first = await invoke(fixture, [{}]);
    const second = await invoke(fixture, [{ action: 'refresh' }]);

    expect(server.requests).toHaveLength(1);
    const r2 = only(second);
    expect(r2.ok && r2.value.outcome).toBe('fresh');
    expect(metricsEmitted(second)).toContain(MetricName.MintSkippedFresh);
    expectNoLeak(first, creds);
    expectNoLeak(second, creds);
  });

  it('a new credential version forces a mint with the new credentials', async () => {
    const creds = makeCredentials();
    const fixture = await BrokerFixture.create(creds);
    await invoke(fixture, [{}]);
    const next = makeCredentials();
    const newVersion = await fixture.putCredentials(next);

    const outcome = await invoke(fixture, [{}]);

    const result = only(outcome);
    expect(result.ok && result.value).toMatchObject({
      outcome: 'minted',
      why: 'credential_version_changed',
      credentialVersionId: newVersion,
    });
    expect(server.requests.map((r) => r.form.client_id)).toEqual([creds.client_id, next.client_id]);
    expectNoLeak(outcome, next, [creds.client_secret]);
  });

  it('force mints even when the cached token is fresh', async () => {
    const creds = makeCredentials();
    const fixture = await BrokerFixture.create(creds);

    const outcome = await invoke(fixture, [{}, { force: true }], undefined, undefined, OPERATOR_ARN);

    expect(outcome.results.map((r) => r.ok && r.value.outcome)).toEqual(['minted', 'minted']);
    expect(server.requests).toHaveLength(2);
    expectNoLeak(outcome, creds);
  });

  it('flush removes the cached token', async () => {
    const creds = makeCredentials();
    const fixture = await BrokerFixture.create(creds);

    const outcome = await invoke(
      fixture,
      [{}, { action: 'flush', requestedBy: 'test' }],
      undefined,
      undefined,
      OPERATOR_ARN,
    );

    expect(outcome.results[1]).toMatchObject({ ok: true, value: { outcome: 'flushed', removed: true } });
    expect(await fixture.rawCachedItem()).toBeUndefined();
  });

  it('20 invocations that all found the cache empty, delivered one at a time, make one upstream request', async () => {
    const creds = makeCredentials();
    const fixture = await BrokerFixture.create(creds);
    const burst = Array.from({ length: 5 }, () => ({ action: 'ensure', requestedBy: 'serve-token' }));

    // Reserved concurrency 1: one execution environment at a time; four environments in turn, five events each.
    const outcomes: InvokeOutcome<MintResult>[] = [];
    for (let i = 0; i < 4; i++) outcomes.push(await invoke(fixture, burst));

    const results = outcomes.flatMap((o) => o.results);
    expect(results).toHaveLength(20);
    expect(results.every((r) => r.ok)).toBe(true);
    expect(results.filter((r) => r.ok && r.value.outcome === 'minted')).toHaveLength(1);
    expect(server.requests).toHaveLength(1);
    for (const o of outcomes) expectNoLeak(o, creds);
  });

  it('uses HTTP Basic authentication when configured for client_secret_basic', async () => {
    const creds = makeCredentials();
    const fixture = await BrokerFixture.create(creds);

    const outcome = await invoke(fixture, [{}], (s) => {
      s.upstream = { ...s.upstream, clientAuthentication: 'client_secret_basic' };
    });

    expect(only(outcome).ok).toBe(true);
    const request = server.requests[0];
    expect(request?.form.client_secret).toBeUndefined();
    const basic = String(request?.headers.authorization).replace(/^Basic /, '');
    const [id, secret] = Buffer.from(basic, 'base64').toString().split(':').map(decodeURIComponent);
    expect([id, secret]).toEqual([creds.client_id, creds.client_secret]);
    expectNoLeak(outcome, creds);
  });
});

describe('mint-token (bundled) — transient upstream failures are retried', () => {
  it('500 then 503 then success', async () => {
    const creds = makeCredentials();
    const fixture = await BrokerFixture.create(creds);
    server.enqueue(
      { kind: 'raw', status: 500, body: 'oops' },
      { kind: 'json', status: 503, body: { error: 'temporarily_unavailable' } },
    );

    const outcome = await invoke(fixture, [{}]);

    const result = only(outcome);
    expect(result.ok && result.value).toMatchObject({ outcome: 'minted', attempts: 3 });
    expect(server.requests).toHaveLength(3);
    expectNoLeak(outcome, creds);
  });

  it('429 with Retry-After waits at least that long, then succeeds', async () => {
    const creds = makeCredentials();
    const fixture = await BrokerFixture.create(creds);
    server.enqueue({
      kind: 'json',
      status: 429,
      body: { error: 'rate_limited' },
      headers: { 'retry-after': '1' },
    });

    const outcome = await invoke(fixture, [{}]);

    expect(only(outcome).ok).toBe(true);
    expect(server.requests).toHaveLength(2);
    const [a, b] = server.requests;
    // Retry-After is a lower bound on the wait (backoff here is at most 50 ms, so only the header explains this).
    expect((b?.at ?? 0) - (a?.at ?? 0)).toBeGreaterThanOrEqual(950);
    expectNoLeak(outcome, creds);
  });

  it('a request that times out is retried', async () => {
    const creds = makeCredentials();
    const fixture = await BrokerFixture.create(creds);
    server.enqueue({ kind: 'delay', ms: 3_000, followedBy: { kind: 'token', expiresIn: 3600 } });

    const outcome = await invoke(fixture, [{}], (s) => {
      s.upstream = { ...s.upstream, requestTimeoutMs: 500 };
    });

    const result = only(outcome);
    expect(result.ok && result.value.attempts).toBe(2);
    expect(server.requests).toHaveLength(2);
    expectNoLeak(outcome, creds);
  });

  it('a connection reset is retried', async () => {
    const creds = makeCredentials();
    const fixture = await BrokerFixture.create(creds);
    server.enqueue({ kind: 'reset' });

    const outcome = await invoke(fixture, [{}]);

    const result = only(outcome);
    expect(result.ok && result.value.attempts).toBe(2);
    expectNoLeak(outcome, creds);
  });

  it('after maxAttempts answers "deferred" (the gate closed, with its Retry-After) instead of failing', async () => {
    const creds = makeCredentials();
    const fixture = await BrokerFixture.create(creds);
    server.fallback = { kind: 'raw', status: 502, body: 'bad gateway' };

    const outcome = await invoke(fixture, [{}], (s) => {
      s.upstream = { ...s.upstream, maxAttempts: 3 };
    });

    const result = only(outcome);
    expect(result.ok && result.value).toMatchObject({
      outcome: 'deferred',
      reason: 'upstream_unavailable',
      attempted: true,
      gate: { open: false, consecutiveFailures: 3, lastFailure: 'upstream_unavailable' },
    });
    expect(server.requests).toHaveLength(3);
    expectNoLeak(outcome, creds);
  });
});

describe('mint-token (bundled) — bad token responses are rejected, not retried', () => {
  it('a 200 whose body is not JSON (cut off, or a proxy page) is transient: retried, then minted', async () => {
    const creds = makeCredentials();
    const fixture = await BrokerFixture.create(creds);
    server.enqueue({
      kind: 'raw',
      status: 200,
      body: '{"access_token": "abc',
      headers: { 'content-type': 'application/json' },
    });

    const outcome = await invoke(fixture, [{}]);

    const result = only(outcome);
    expect(result.ok && result.value).toMatchObject({ outcome: 'minted', attempts: 2 });
    expect(server.requests).toHaveLength(2);
    expectNoLeak(outcome, creds);
  });

  it.each([
    ['expires_in zero', { kind: 'token', expiresIn: 0 }],
    ['expires_in negative', { kind: 'token', expiresIn: -30 }],
    ['missing access_token', { kind: 'json', status: 200, body: { token_type: 'Bearer', expires_in: 3600 } }],
    ['empty access_token', { kind: 'json', status: 200, body: { access_token: '', expires_in: 3600 } }],
    ['a non-Bearer token_type', { kind: 'token', extra: { token_type: 'mac' }, expiresIn: 3600 }],
  ] as const)('%s → BadTokenResponseError after one request', async (_label, behaviour) => {
    const creds = makeCredentials();
    const fixture = await BrokerFixture.create(creds);
    server.enqueue(behaviour as never);

    const outcome = await invoke(fixture, [{}]);

    const result = only(outcome);
    expect(!result.ok && result.error.name).toBe('BadTokenResponseError');
    expect(server.requests).toHaveLength(1);
    expect(await fixture.rawCachedItem()).toBeUndefined();
    expectNoLeak(outcome, creds);
  });

  it.each([
    ['missing', undefined, 3600],
    ['not a number', 'soon', 3600],
    ['huge', 10 ** 12, 86_400],
    ['a numeric string', '1800', 1800],
  ] as const)('expires_in %s (%s) → lifetime %i s', async (_label, expiresIn, lifetime) => {
    const creds = makeCredentials();
    const fixture = await BrokerFixture.create(creds);
    server.enqueue({ kind: 'token', expiresIn });

    const outcome = await invoke(fixture, [{}]);

    const result = only(outcome);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value.expiresAt - result.value.mintedAt).toBe(lifetime);
    expectNoLeak(outcome, creds);
  });
});

describe('mint-token (bundled) — credentials problems', () => {
  it('401 invalid_client → InvalidClientError after exactly one request, counted for the alarm', async () => {
    const creds = makeCredentials();
    const fixture = await BrokerFixture.create(creds);
    server.fallback = {
      kind: 'json',
      status: 401,
      body: { error: 'invalid_client', error_description: `client ${creds.client_secret} unknown` },
    };

    const outcome = await invoke(fixture, [{}]);

    const result = only(outcome);
    expect(!result.ok && result.error.name).toBe('InvalidClientError');
    expect(!result.ok && result.error.message).toMatch(/credentials-rejected/);
    expect(server.requests).toHaveLength(1);
    expect(metricsEmitted(outcome)).toEqual(
      expect.arrayContaining([MetricName.InvalidClient, MetricName.MintFailed]),
    );
    expectNoLeak(outcome, creds);
  });

  it('400 invalid_grant → UpstreamRejectedError, not retried', async () => {
    const creds = makeCredentials();
    const fixture = await BrokerFixture.create(creds);
    server.fallback = { kind: 'json', status: 400, body: { error: 'invalid_grant' } };

    const outcome = await invoke(fixture, [{}]);

    const result = only(outcome);
    expect(!result.ok && result.error.name).toBe('UpstreamRejectedError');
    expect(server.requests).toHaveLength(1);
    expectNoLeak(outcome, creds);
  });

  it('an untrusted TLS certificate → UntrustedUpstreamError, credentials never sent, no retry', async () => {
    const creds = makeCredentials();
    const fixture = await BrokerFixture.create(creds);

    const outcome = await invoke(fixture, [{}], () => {}, untrustedServer.url);

    const result = only(outcome);
    expect(!result.ok && result.error.name).toBe('UntrustedUpstreamError');
    expect(untrustedServer.requests).toHaveLength(0);
    expect(untrustedServer.connections).toBe(1);
    expectNoLeak(outcome, creds);
  });

  it('a secret with no value, nothing ever minted (first deploy) → "not_configured", a value: no upstream call, no failure metric, one BrokerNotConfigured', async () => {
    const fixture = await BrokerFixture.create(undefined);

    const outcome = await invoke(fixture, [
      { action: 'refresh', requestedBy: 'schedule' },
      { action: 'ensure' },
    ]);

    expect(outcome.results).toHaveLength(2);
    for (const result of outcome.results) {
      expect(result.ok).toBe(true);
      expect(result.ok && result.value).toEqual({
        outcome: 'not_configured',
        reason: 'credentials_not_set',
        message: expect.stringMatching(/credentials set .*Putting the credentials in/),
      });
    }
    expect(server.requests).toHaveLength(0);
    const metrics = metricsEmitted(outcome);
    expect(metrics.filter((m) => m === MetricName.BrokerNotConfigured)).toHaveLength(2);
    expect(metrics).not.toContain(MetricName.MintFailed);
    expect(metrics).not.toContain(MetricName.CachedTokenSecondsToExpiry);
    // Logged as a warning: nothing failed.
    expect(outcome.logRecords.filter((r) => r.level === 'ERROR')).toEqual([]);
  });

  it('the deploy-time placeholder of older stacks, nothing ever minted → "not_configured", the placeholder never logged', async () => {
    const placeholder = JSON.stringify({
      throughline_broker_placeholder: 'set me',
      nonce: 'Xq9PlaceholderNonce',
    });
    const fixture = await BrokerFixture.create(placeholder);

    const outcome = await invoke(fixture, [{}]);

    const result = only(outcome);
    expect(result.ok && result.value.outcome).toBe('not_configured');
    expect(server.requests).toHaveLength(0);
    expectNoSecretIn(allText(outcome), ['Xq9PlaceholderNonce']);
  });

  it('credentials gone after a token was minted → CredentialsNotSetError, a failure that is counted (never "not configured")', async () => {
    const creds = makeCredentials();
    const fixture = await BrokerFixture.create(creds);
    const first = await invoke(fixture, [{}]);
    expect(only(first).ok).toBe(true);
    await fixture.putCredentials(JSON.stringify({ throughline_broker_placeholder: 'set me' }));

    // Forced past the fresh cached token, so the credentials are needed.
    const outcome = await invoke(
      fixture,
      [{ action: 'refresh', force: true }],
      () => {},
      server.url,
      OPERATOR_ARN,
    );

    const result = only(outcome);
    expect(!result.ok && result.error.name).toBe('CredentialsNotSetError');
    expect(!result.ok && result.error.message).toMatch(/Putting the credentials in/);
    expect(metricsEmitted(outcome)).toContain(MetricName.MintFailed);
    expect(metricsEmitted(outcome)).not.toContain(MetricName.BrokerNotConfigured);
    expect(server.requests).toHaveLength(1);
    expectNoLeak(outcome, creds);
  });

  it.each([
    ['not JSON', 'client_id=abc&client_secret=TopSecretValue1', /not valid JSON/],
    ['a JSON array', '["TopSecretValue1"]', /not an object/],
    [
      'an empty client_secret',
      JSON.stringify({ client_id: 'TopSecretValue1', client_secret: '' }),
      /"client_secret" is empty/,
    ],
    ['a missing client_id', JSON.stringify({ client_secret: 'TopSecretValue1' }), /"client_id" is missing/],
  ])(
    'credentials that are %s → CredentialsMalformedError naming the problem, not the value',
    async (_l, value, message) => {
      const fixture = await BrokerFixture.create(value);

      const outcome = await invoke(fixture, [{}]);

      const result = only(outcome);
      expect(!result.ok && result.error.name).toBe('CredentialsMalformedError');
      expect(!result.ok && result.error.message).toMatch(message);
      expect(server.requests).toHaveLength(0);
      expectNoSecretIn(allText(outcome), ['TopSecretValue1']);
    },
  );

  it('an invalid payload is rejected with the allowed fields named', async () => {
    const fixture = await BrokerFixture.create(makeCredentials());

    const outcome = await invoke(fixture, [{ action: 'explode', minTtlSeconds: -1 }]);

    const result = only(outcome);
    expect(!result.ok && result.error.name).toBe('MintTokenRequestError');
    expect(!result.ok && result.error.message).toMatch(
      /"action" must be ensure, refresh, flush, describe or usage/,
    );
    expect(server.requests).toHaveLength(0);
  });
});
