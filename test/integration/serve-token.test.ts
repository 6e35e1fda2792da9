import type { APIGatewayProxyResult } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { MetricName } from '../../contract/metric-names';
import { UNAVAILABLE_MESSAGE } from '../../lambda/serving/serve-token-response';
import { DEFAULT_CALLER_ARN, tokenRequestEvent } from '../kit/builders/api-gateway-event';
import { LambdaInvokeEmulator } from '../kit/emulators/lambda-invoke';
import { RecordingAwsProxy } from '../kit/emulators/recording-aws-proxy';
import { FakeTokenServer } from '../kit/fakes/token-server';
import type { InvocationResult } from '../kit/runners/invoke-bundled';
import type { WarmLambda } from '../kit/runners/warm-lambda';
import { expectNoSecretIn } from '../kit/vitest/leaks';
import { ServeTokenBroker, type SettingsPatch, worldSources } from '../kit/vitest/serve-token-harness';

/**
 * The bundled serve-token handler (as `cdk synth` packages it) with API Gateway proxy events,
 * against moto_server (DynamoDB, KMS) through a recording proxy, and the bundled mint-token
 * running behind a local Lambda Invoke API (reserved concurrency 1) against a local HTTPS token
 * endpoint. Every test ends by checking that no function logged a token or the client secret.
 */

let tokenServer: FakeTokenServer;
let standIn: LambdaInvokeEmulator;
let proxy: RecordingAwsProxy;
let brokers: ServeTokenBroker[] = [];

beforeAll(async () => {
  tokenServer = await FakeTokenServer.start(inject('trustedTls'));
  standIn = await LambdaInvokeEmulator.start();
  proxy = await RecordingAwsProxy.start(inject('motoEndpoint'));
});
afterAll(async () => {
  await Promise.all([tokenServer.stop(), standIn.stop(), proxy.stop()]);
});
beforeEach(() => {
  tokenServer.reset();
  standIn.reset();
  proxy.reset();
});
afterEach(async () => {
  for (const broker of brokers) {
    expectNoSecretIn(broker.logLines, [broker.credentials.client_secret, ...tokenServer.issuedTokens]);
  }
  await Promise.all(brokers.map((b) => b.stop()));
  brokers = [];
});

async function newBroker(mintSettings?: SettingsPatch): Promise<ServeTokenBroker> {
  const broker = await ServeTokenBroker.createFrom(worldSources(), {
    tokenServer,
    standIn,
    proxy,
    ...(mintSettings ? { mintSettings } : {}),
  });
  brokers.push(broker);
  return broker;
}

interface Served {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: Record<string, unknown>;
}

async function getToken(instance: WarmLambda, query?: Record<string, string | string[]>): Promise<Served> {
  const result = await instance.invoke<APIGatewayProxyResult>(tokenRequestEvent(query ? { query } : {}));
  return asServed(result);
}

function asServed(result: InvocationResult<APIGatewayProxyResult>): Served {
  if (!result.ok) throw new Error(`serve-token failed: ${result.error.name}: ${result.error.message}`);
  return {
    status: result.value.statusCode,
    headers: result.value.headers as Record<string, string>,
    body: JSON.parse(result.value.body) as Record<string, unknown>,
  };
}

function auditRecords(instance: WarmLambda): Record<string, unknown>[] {
  return instance.logRecords
    .filter((r) => r.message === 'Token request')
    .map((r) => r.audit as Record<string, unknown>);
}

const mintInvocations = (broker: ServeTokenBroker) =>
  standIn.invocations.filter((i) => i.functionName === broker.mintFunctionName);

describe('serve-token (bundled) — serving paths', () => {
  it('cold instance, empty cache: invokes mint-token, serves the new token with the response contract', async () => {
    const broker = await newBroker();
    const instance = await broker.startServe();

    const served = await getToken(instance);

    expect(served.status).toBe(200);
    expect(served.headers).toMatchObject({
      'Content-Type': 'application/json',
      'Cache-Control': 'no-store',
      Pragma: 'no-cache',
    });
    expect(Object.keys(served.body).sort()).toEqual([
      'access_token',
      'expires_at',
      'expires_in',
      'token_type',
    ]);
    expect(served.body.access_token).toBe(tokenServer.issuedTokens[0]);
    expect(served.body.token_type).toBe('Bearer');
    expect(served.body.expires_in).toBeGreaterThan(3500);
    expect(served.body.expires_in).toBeLessThanOrEqual(3600);
    const item = await broker.fixture.rawCachedItem();
    expect(served.body.expires_at).toBe(Number(item?.expiresAt?.N));
    expect(tokenServer.requests).toHaveLength(1);
    expect(mintInvocations(broker).map((i) => i.payload)).toEqual([
      // waitBudgetMs: what is left of the caller's request budget (api.requestBudgetMs, 4 s by default).
      { action: 'ensure', minTtlSeconds: 60, requestedBy: 'serve-token', waitBudgetMs: expect.any(Number) },
    ]);
    const [payload] = mintInvocations(broker).map((i) => i.payload as { waitBudgetMs: number });
    expect(payload?.waitBudgetMs).toBeLessThan(4_000);

    const [audit, ...more] = auditRecords(instance);
    expect(more).toHaveLength(0);
    expect(audit).toMatchObject({
      caller: { channel: 'api', arn: DEFAULT_CALLER_ARN, accountId: '123456789012', sourceIp: '10.0.0.12' },
      minTtlSeconds: 60,
      outcome: 'served',
      status: 200,
      source: 'minted',
      expiresAt: served.body.expires_at,
    });
    expect(instance.metricCounts()).toMatchObject({
      [MetricName.TokenRequest]: 1,
      [MetricName.MintRequested]: 1,
    });
  });

  it('a warm instance answers from memory (L1): no AWS call and no mint', async () => {
    const broker = await newBroker();
    const instance = await broker.startServe({ settings: { l1MaxAgeSeconds: 300 } });
    const first = await getToken(instance);
    const callsBefore = proxy.calls.length;
    const invocationsBefore = standIn.invocations.length;

    const second = await getToken(instance);

    expect(second.status).toBe(200);
    expect(second.body.access_token).toBe(first.body.access_token);
    expect(proxy.calls.length).toBe(callsBefore);
    expect(standIn.invocations.length).toBe(invocationsBefore);
    expect(auditRecords(instance).map((a) => a.source)).toEqual(['minted', 'l1']);
    expect(instance.metricCounts()[MetricName.TokenServedFromL1]).toBe(1);
  });

  it('a cold instance serves the shared cache (L2): one read and one decrypt, no mint', async () => {
    const broker = await newBroker();
    const first = await getToken(await broker.startServe({ accessKeyId: 'instance-a' }));
    const coldInstance = await broker.startServe({ accessKeyId: 'instance-b' });
    const invocationsBefore = mintInvocations(broker).length;

    const served = await getToken(coldInstance);

    expect(served.status).toBe(200);
    expect(served.body.access_token).toBe(first.body.access_token);
    expect(mintInvocations(broker)).toHaveLength(invocationsBefore);
    expect(proxy.count('dynamodb:GetItem', 'instance-b')).toBe(1);
    expect(proxy.count('kms:Decrypt', 'instance-b')).toBe(1);
    expect(tokenServer.requests).toHaveLength(1);
    expect(auditRecords(coldInstance).map((a) => a.source)).toEqual(['l2']);
    expect(coldInstance.metricCounts()[MetricName.TokenServedFromL2]).toBe(1);
  });

  it('min_ttl above the lifetime ThroughLine gives its tokens → 400 naming what can be asked, and no mint', async () => {
    const broker = await newBroker();
    tokenServer.enqueue({ kind: 'token', expiresIn: 50 });
    const a = await broker.startServe({ settings: { l1MaxAgeSeconds: 300 } });
    const short = await getToken(a, { min_ttl: '10' });
    expect(short.status).toBe(200);
    expect(short.body.expires_in).toBeLessThanOrEqual(50);

    // Default min_ttl 60 > the 50 s every token lives: no mint can help, so none is made — from L1
    // on the warm instance, from L2 on a cold one, however often it is asked.
    const b = await broker.startServe();
    const answers = [await getToken(a), await getToken(b), await getToken(b, { min_ttl: '900' })];

    for (const answer of answers) {
      expect(answer.status).toBe(400);
      expect(answer.body.error).toBe('invalid_request');
      expect(answer.body.message).toMatch(
        /^min_ttl is more than the lifetime ThroughLine gives its tokens \(50 s\)/,
      );
    }
    expect(tokenServer.requests).toHaveLength(1);
    expect(mintInvocations(broker)).toHaveLength(1);
    expect(auditRecords(b).map((r) => r.reason)).toEqual(['min_ttl_unattainable', 'min_ttl_unattainable']);
  });

  it('a refresh reaches a warm instance once its memory copy is older than l1MaxAgeSeconds', async () => {
    const broker = await newBroker();
    const instance = await broker.startServe({ settings: { l1MaxAgeSeconds: 1 } });
    const before = await getToken(instance);
    const refreshed = await broker.operatorInvoke({ action: 'ensure', force: true });
    expect(refreshed.ok).toBe(true);

    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const after = await getToken(instance);

    expect(after.body.access_token).toBe(tokenServer.issuedTokens[1]);
    expect(after.body.access_token).not.toBe(before.body.access_token);
    expect(auditRecords(instance).map((r) => r.source)).toEqual(['minted', 'l2']);
  });

  it('after a flush (breach response) a warm instance stops serving the old token within l1MaxAgeSeconds', async () => {
    const broker = await newBroker();
    const instance = await broker.startServe({ settings: { l1MaxAgeSeconds: 1 } });
    const before = await getToken(instance);
    expect((await broker.operatorInvoke({ action: 'flush', requestedBy: 'test' })).ok).toBe(true);

    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const after = await getToken(instance);

    expect(after.status).toBe(200);
    expect(after.body.access_token).not.toBe(before.body.access_token);
    expect(tokenServer.requests).toHaveLength(2);
  });

  it('direct lambda:InvokeFunction: {"min_ttl": n} in, the token body out; bad payloads get invalid_request', async () => {
    const broker = await newBroker();
    const instance = await broker.startServe();

    const ok = await instance.invoke<Record<string, unknown>>({ min_ttl: 120 });
    const bad = await instance.invoke<Record<string, unknown>>({ min_ttl: 'soon', extra: 1 });

    expect(ok.ok && ok.value).toMatchObject({
      access_token: tokenServer.issuedTokens[0],
      token_type: 'Bearer',
    });
    expect(ok.ok && ok.value.statusCode).toBeUndefined();
    expect(bad.ok && bad.value).toEqual({
      error: 'invalid_request',
      message: 'The payload accepts only "min_ttl" and "rejected": send {} or {"min_ttl": <seconds>}',
    });
    expect(
      mintInvocations(broker).map((i) => (i.payload as { minTtlSeconds: number }).minTtlSeconds),
    ).toEqual([120]);
    expect(
      auditRecords(instance).map((a) => [(a.caller as { channel: string })?.channel ?? a.channel, a.outcome]),
    ).toEqual([
      ['lambda-invoke', 'served'],
      ['lambda-invoke', 'invalid_request'],
    ]);
  });
});

describe('serve-token (bundled) — failures', () => {
  it('ThroughLine down but the cached token is still servable: it is served (stale-on-error)', async () => {
    // refreshAtFraction so small that a token is past its refresh point at once, yet valid for an hour.
    const broker = await newBroker((s) => {
      s.token = { ...s.token, refreshAtFraction: 0.0001 };
    });
    const first = await getToken(await broker.startServe());
    tokenServer.fallback = { kind: 'json', status: 503, body: { error: 'temporarily_unavailable' } };
    const instance = await broker.startServe();

    const served = await getToken(instance);

    expect(served.status).toBe(200);
    expect(served.body.access_token).toBe(first.body.access_token);
    expect(tokenServer.requests.length).toBeGreaterThan(1);
    // mint-token answered (the gate closed after the failure): a typed "deferred", not an error.
    const invocations = mintInvocations(broker);
    expect(invocations.at(-1)?.outcome).toBe('ok');
    expect(auditRecords(instance)).toMatchObject([{ outcome: 'served', source: 'stale' }]);
    expect(instance.metricCounts()[MetricName.StaleTokenServed]).toBe(1);
  });

  it('ThroughLine down and nothing servable: 503 token_unavailable with Retry-After, no internals', async () => {
    // A gate backoff far longer than the test (60 s base): the cool-down below cannot run out between
    // two requests however slow the machine is, and no wait fits in the request budget.
    const broker = await newBroker((s) => {
      s.gate = { ...s.gate, backoffBaseSeconds: 60, backoffCapSeconds: 300 };
    });
    tokenServer.fallback = { kind: 'raw', status: 502, body: 'upstream exploded at 10.1.2.3' };
    const instance = await broker.startServe({ settings: { retryAfterSeconds: 7 } });

    const served = await getToken(instance);

    expect(served.status).toBe(503);
    expect(served.headers).toMatchObject({ 'Cache-Control': 'no-store', Pragma: 'no-cache' });
    // Retry-After is the gate's, not the fixed 7: its first backoff (60 s base, equal jitter: 30–60 s).
    const retryAfter = Number(served.headers['Retry-After']);
    expect(retryAfter).toBeGreaterThanOrEqual(25);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(served.body).toEqual({ error: 'token_unavailable', message: UNAVAILABLE_MESSAGE });
    expect(JSON.stringify(served)).not.toMatch(/Upstream|mint|502|10\.1\.2\.3|Error/);
    expect(auditRecords(instance)).toMatchObject([
      { outcome: 'unavailable', status: 503, reason: 'upstream_deferred', retryAfterSeconds: retryAfter },
    ]);
    expect(instance.metricCounts()[MetricName.TokenUnavailable]).toBe(1);

    // Within the cool-down the instance answers at once, without queueing behind another doomed mint.
    const invocations = mintInvocations(broker).length;
    const again = await getToken(instance);
    expect(again.status).toBe(503);
    expect(Number(again.headers['Retry-After'])).toBeGreaterThanOrEqual(1);
    expect(mintInvocations(broker)).toHaveLength(invocations);
    expect(auditRecords(instance).at(-1)).toMatchObject({ reason: 'cooling_down' });
  });

  it('credentials rejected (invalid_client): 503 with the long Retry-After, same fixed body', async () => {
    const broker = await newBroker();
    tokenServer.fallback = { kind: 'json', status: 401, body: { error: 'invalid_client' } };
    const instance = await broker.startServe();

    const served = await getToken(instance);

    expect(served.status).toBe(503);
    expect(served.headers['Retry-After']).toBe('60');
    expect(served.body).toEqual({ error: 'token_unavailable', message: UNAVAILABLE_MESSAGE });
    expect(tokenServer.requests).toHaveLength(1);
    expect(mintInvocations(broker)[0]?.outcome).toBe('function_error');
  });

  it.each([
    ['not a number', { min_ttl: 'abc' }],
    ['negative', { min_ttl: '-1' }],
    ['fractional', { min_ttl: '1.5' }],
    ['exponent notation', { min_ttl: '1e3' }],
    ['empty', { min_ttl: '' }],
    ['above the maximum', { min_ttl: '901' }],
  ])('min_ttl %s → 400 invalid_request naming the allowed range, no AWS call', async (_label, query) => {
    const broker = await newBroker();
    const instance = await broker.startServe();

    const served = await getToken(instance, query);

    expect(served.status).toBe(400);
    expect(served.headers).toMatchObject({ 'Cache-Control': 'no-store', Pragma: 'no-cache' });
    expect(served.body).toEqual({
      error: 'invalid_request',
      message: 'min_ttl must be a whole number of seconds from 0 to 900; omit it for the default of 60',
    });
    expect(proxy.calls).toHaveLength(0);
    expect(mintInvocations(broker)).toHaveLength(0);
    expect(instance.metricCounts()[MetricName.InvalidTokenRequest]).toBe(1);
  });

  it('a repeated min_ttl or an unknown query parameter → 400', async () => {
    const broker = await newBroker();
    const instance = await broker.startServe();

    const repeated = await getToken(instance, { min_ttl: ['60', '120'] });
    const unknown = await getToken(instance, { scope: '<script>' });

    expect(repeated.status).toBe(400);
    expect(repeated.body.message).toBe('min_ttl is given more than once; give it once');
    expect(unknown.status).toBe(400);
    expect(unknown.body.message).toBe(
      'GET /token accepts only the query parameters min_ttl and rejected; remove the others',
    );
    expect(JSON.stringify(unknown.body)).not.toContain('<script>');
    expect(proxy.calls).toHaveLength(0);
  });
});

describe('serve-token (bundled) — concurrency', () => {
  it('mint-token throttled: backs off, re-reads the cache, then succeeds', async () => {
    const broker = await newBroker();
    standIn.throttleNext(broker.mintFunctionName, 2);
    const instance = await broker.startServe({
      settings: { mintThrottleBackoffBaseMs: 200, mintThrottleBackoffCapMs: 1_000 },
    });

    const served = await getToken(instance);

    expect(served.status).toBe(200);
    const invocations = mintInvocations(broker);
    expect(invocations.map((i) => i.outcome)).toEqual(['throttled', 'throttled', 'ok']);
    // Equal jitter: the waits are at least half of 200 ms and 400 ms; between them the cache is re-read.
    for (const [i, minimumWaitMs] of [
      [0, 100],
      [1, 200],
    ] as const) {
      const throttled = invocations[i] as (typeof invocations)[number];
      const next = invocations[i + 1] as (typeof invocations)[number];
      expect(next.startedAt - (throttled.endedAt ?? 0)).toBeGreaterThanOrEqual(minimumWaitMs);
      expect(
        proxy.calls.some(
          (c) =>
            c.operation === 'dynamodb:GetItem' && c.at >= (throttled.endedAt ?? 0) && c.at <= next.startedAt,
        ),
      ).toBe(true);
    }
    expect(tokenServer.requests).toHaveLength(1);
    expect(instance.metricCounts()).toMatchObject({
      [MetricName.MintThrottled]: 2,
      [MetricName.MintRequested]: 3,
    });
  });

  it('5 concurrent cold requests in one instance share one cache read and one mint (single-flight)', async () => {
    const broker = await newBroker();
    const instance = await broker.startServe({ accessKeyId: 'single' });

    const served = (
      await Promise.all(
        Array.from({ length: 5 }, () => instance.invoke<APIGatewayProxyResult>(tokenRequestEvent())),
      )
    ).map(asServed);

    expect(served.map((s) => s.status)).toEqual([200, 200, 200, 200, 200]);
    expect(new Set(served.map((s) => s.body.access_token)).size).toBe(1);
    expect(mintInvocations(broker)).toHaveLength(1);
    // One read before the mint (empty: nothing to decrypt), one after it.
    expect(proxy.count('dynamodb:GetItem', 'single')).toBe(2);
    expect(proxy.count('kms:Decrypt', 'single')).toBe(1);
    expect(auditRecords(instance)).toHaveLength(5);
  });

  it('50 concurrent cold requests across 10 instances → exactly one upstream mint', async () => {
    const broker = await newBroker();
    const instances = await Promise.all(
      Array.from({ length: 10 }, (_, n) => broker.startServe({ accessKeyId: `instance-${n}` })),
    );

    const results = await Promise.all(
      instances.flatMap((instance) =>
        Array.from({ length: 5 }, () => instance.invoke<APIGatewayProxyResult>(tokenRequestEvent())),
      ),
    );

    const served = results.map(asServed);
    expect(served.filter((s) => s.status === 200)).toHaveLength(50);
    expect(new Set(served.map((s) => s.body.access_token))).toEqual(new Set([tokenServer.issuedTokens[0]]));
    expect(tokenServer.requests).toHaveLength(1);
    const invocations = mintInvocations(broker);
    expect(invocations.filter((i) => i.outcome === 'function_error')).toHaveLength(0);
    for (let n = 0; n < 10; n++) {
      const key = `instance-${n}`;
      const mine = invocations.filter((i) => i.accessKeyId === key);
      // Single-flight: the 5 requests of an instance made at most one mint call at a time, and one
      // cache read per round (first read, one per throttle, one after the mint) — not five.
      expect(mine.filter((i) => i.outcome === 'ok').length).toBeLessThanOrEqual(1);
      const throttled = mine.filter((i) => i.outcome === 'throttled').length;
      expect(proxy.count('dynamodb:GetItem', key)).toBeLessThanOrEqual(2 + throttled);
      expect(proxy.count('dynamodb:GetItem', key)).toBeGreaterThanOrEqual(1);
    }
    const sources = instances.flatMap((i) => auditRecords(i).map((a) => a.source));
    expect(sources).toHaveLength(50);
  });
});

describe('serve-token — separation of duties', () => {
  it("the deployed function's environment names no credentials secret", () => {
    const env = inject('bundledFunctions').ServeToken?.environment ?? {};
    expect(Object.keys(env).sort()).toEqual(
      [
        'MINT_TOKEN_FUNCTION_NAME',
        'POWERTOOLS_SERVICE_NAME',
        'SERVE_SETTINGS',
        'TOKEN_API_ID',
        'TOKEN_API_STAGE',
        'TOKEN_KEY_ARN',
        'TOKEN_TABLE_NAME',
      ].sort(),
    );
    expect(JSON.stringify(env)).not.toMatch(/CredentialStore|Secret/i);
  });
});
