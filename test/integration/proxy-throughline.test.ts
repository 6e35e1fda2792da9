import { request as httpsRequest } from 'node:https';
import { DynamoDBClient, ScanCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { MetricName } from '../../contract/metric-names';
import { CACHE_STATUS_HEADER } from '../../contract/proxy-api';
import {
  RATE_COUNT_ATTRIBUTE,
  RATE_KEY_PREFIX,
  UPSTREAM_API_HOLD_KEY,
} from '../../contract/token-cache-schema';
import { tokenFingerprint } from '../../contract/token-fingerprint';
import { ApiHoldStore } from '../../lambda/aws/api-hold-store';
import { ResponseCacheStore } from '../../lambda/aws/response-cache-store';
import { responseCacheKey } from '../../lambda/proxy/proxy-server';
import {
  DEFAULT_CALLER_ARN,
  type ProxyEventOptions,
  proxyRequestEvent,
} from '../kit/builders/api-gateway-event';
import { LambdaInvokeEmulator } from '../kit/emulators/lambda-invoke';
import { RecordingAwsProxy } from '../kit/emulators/recording-aws-proxy';
import {
  SMALL_DIRECTORY,
  syntheticHelplines,
  ThroughLineApi,
  tooManyRequests,
} from '../kit/fakes/throughline-api';
import { FakeTokenServer } from '../kit/fakes/token-server';
import { MOTO_CREDENTIALS, MOTO_REGION } from '../kit/local-aws/moto';
import type { WarmLambda } from '../kit/runners/warm-lambda';
import { expectNoSecretIn } from '../kit/vitest/leaks';
import { ServeTokenBroker, worldSources } from '../kit/vitest/serve-token-harness';

/**
 * Proxy mode end to end: the bundled proxy-throughline handler (as `cdk synth` packages it) with API
 * Gateway proxy events, against moto_server (DynamoDB: token cache, quota ledger, rate slots; KMS)
 * through a recording proxy, the bundled mint-token behind the local Lambda Invoke API against the
 * local HTTPS token endpoint, and a local HTTPS stand-in of ThroughLine's API (test/kit/fakes/
 * throughline-api.ts) that accepts only the tokens the token endpoint issued. Every test ends by
 * scanning every log line and every answer for a token or the client secret.
 */

let tokenServer: FakeTokenServer;
let throughLine: ThroughLineApi;
let standIn: LambdaInvokeEmulator;
let awsProxy: RecordingAwsProxy;
let brokers: ServeTokenBroker[] = [];
let answers: string[] = [];

beforeAll(async () => {
  tokenServer = await FakeTokenServer.start(inject('trustedTls'));
  throughLine = await ThroughLineApi.start(inject('trustedTls'));
  throughLine.acceptTokensIssuedBy(tokenServer);
  standIn = await LambdaInvokeEmulator.start();
  awsProxy = await RecordingAwsProxy.start(inject('motoEndpoint'));
});
afterAll(async () => {
  await Promise.all([tokenServer.stop(), throughLine.stop(), standIn.stop(), awsProxy.stop()]);
});
beforeEach(() => {
  tokenServer.reset();
  throughLine.reset();
  standIn.reset();
  awsProxy.reset();
  answers = [];
});
afterEach(async () => {
  for (const broker of brokers) {
    expectNoSecretIn(
      [...broker.logLines, ...answers],
      [broker.credentials.client_secret, ...tokenServer.issuedTokens],
    );
  }
  await Promise.all(brokers.map((b) => b.stop()));
  brokers = [];
});

async function newBroker(): Promise<ServeTokenBroker> {
  const broker = await ServeTokenBroker.createFrom(worldSources(), { tokenServer, standIn, proxy: awsProxy });
  brokers.push(broker);
  return broker;
}

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly text: string;
  readonly json: Record<string, unknown> | undefined;
}

async function call(instance: WarmLambda, options: ProxyEventOptions): Promise<Answer> {
  const result = await instance.invoke<APIGatewayProxyResult>(proxyRequestEvent(options));
  if (!result.ok) throw new Error(`proxy-throughline failed: ${result.error.name}: ${result.error.message}`);
  answers.push(JSON.stringify(result.value));
  let json: Record<string, unknown> | undefined;
  try {
    json = JSON.parse(result.value.body) as Record<string, unknown>;
  } catch {
    json = undefined;
  }
  return {
    status: result.value.statusCode,
    headers: result.value.headers as Record<string, string>,
    text: result.value.body,
    json,
  };
}

function audits(instance: WarmLambda): Record<string, unknown>[] {
  return instance.logRecords
    .filter((r) => r.message === 'ThroughLine call')
    .map((r) => r.audit as Record<string, unknown>);
}

/** A call straight to the stand-in, trusting the test CA (what a service holding the token would get). */
function directGet(
  pathAndQuery: string,
  token: string,
): Promise<{ status: number; body: string; contentType: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      `${throughLine.url}${pathAndQuery}`,
      { headers: { authorization: `Bearer ${token}` }, ca: inject('trustedTls').cert },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('utf8'),
            contentType: String(res.headers['content-type']),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

const OTHER_CALLER = 'arn:aws:sts::123456789012:assumed-role/billing-service/i-0def';

describe('proxy-throughline (bundled) — forwarding', () => {
  it("forwards a GET with the cached token, drops the caller's SigV4 and hop-by-hop headers, and returns ThroughLine's answer unchanged", async () => {
    const broker = await newBroker();
    const proxy = await broker.startProxy({ upstreamBaseUrl: throughLine.url });

    const answer = await call(proxy, {
      path: 'v2/helplines',
      query: { country_code: 'us', topic: 'Anxiety' },
      headers: {
        Authorization:
          'AWS4-HMAC-SHA256 Credential=ASIAEXAMPLE/20261202/us-east-1/execute-api/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc',
        'X-Amz-Date': '20261202T120000Z',
        'X-Amz-Security-Token': 'session-token-that-must-stay-in-aws',
        Cookie: 'session=1',
        Connection: 'keep-alive, X-Private',
        'X-Private': 'internal',
        'Accept-Language': 'es',
      },
    });

    expect(answer.status).toBe(200);
    expect(answer.headers[CACHE_STATUS_HEADER]).toBe('miss');
    expect(throughLine.requests).toHaveLength(1);
    const sent = throughLine.requests[0];
    expect(sent?.authorization).toBe('accepted');
    expect(sent?.tokenFingerprint).toBe(tokenFingerprint(tokenServer.issuedTokens[0] as string));
    expect(sent?.path).toBe('/v2/helplines');
    expect(sent?.query).toEqual({ country_code: ['us'], topic: ['Anxiety'] });
    expect(
      sent?.headerNames.filter((h) => h.startsWith('x-amz') || ['cookie', 'x-private'].includes(h)),
    ).toEqual([]);
    expect(sent?.headers['accept-language']).toBe('es');
    // ThroughLine's body, byte for byte: what a direct call with the token gets.
    const direct = await directGet(
      `/v2/helplines?country_code=us&topic=Anxiety`,
      tokenServer.issuedTokens[0] as string,
    );
    expect(direct.status).toBe(200);
    expect(answer.text).toBe(direct.body);
    expect(answer.headers['content-type']).toBe(direct.contentType);

    const [audit] = audits(proxy);
    expect(audit).toMatchObject({
      caller: 'arn:aws:iam::123456789012:role/orders-service',
      method: 'GET',
      pathTemplate: '/v2/helplines',
      status: 200,
      outcome: 'forwarded',
      cache: 'miss',
      attempts: 1,
    });
    expect(typeof audit?.upstreamLatencyMs).toBe('number');
    // No query value reaches the log: "Anxiety" and "us" could say something about an end user.
    expect(proxy.logLines.join('\n')).not.toMatch(/Anxiety|country_code=us/);
    expect(proxy.metricCounts()[MetricName.UpstreamApiCall]).toBe(1);
  });

  it('refuses every path that could leave the configured routes or host, without asking ThroughLine or spending quota', async () => {
    const broker = await newBroker();
    const proxy = await broker.startProxy({ upstreamBaseUrl: throughLine.url });
    const attempts = [
      '../oauth/token',
      'v2/helplines/../../oauth/token',
      'v2/helplines/%2e%2e/secret',
      'v2/helplines%2F..%2F..',
      'https:/evil.example/v2/helplines',
      '/evil.example/v2/helplines',
      'v2\\helplines',
      'v2/helplines/\u0000',
      'v1/helplines',
      'v2/countries/',
      'admin',
    ];

    const statuses = [];
    for (const path of attempts) statuses.push((await call(proxy, { path })).status);

    expect(statuses.every((s) => s === 400 || s === 404)).toBe(true);
    expect(throughLine.requests).toHaveLength(0);
    expect(tokenServer.requests).toHaveLength(0);
    expect(audits(proxy).every((a) => a.outcome === 'refused' && a.cache === 'none')).toBe(true);
    expect(proxy.metricCounts()[MetricName.ProxyRequestRefused]).toBe(attempts.length);
  });

  it('a method the route does not take is 405 with Allow; a POST event report is forwarded with its JSON body', async () => {
    const broker = await newBroker();
    const proxy = await broker.startProxy({ upstreamBaseUrl: throughLine.url });

    const wrongMethod = await call(proxy, {
      method: 'POST',
      path: 'v2/countries',
      body: '{}',
      headers: { 'Content-Type': 'application/json' },
    });
    const report = {
      helpline_id: '6b1f1c39-0d3c-4c3e-9d6a-1f0b7c1d2e3f',
      session_id: 'abc',
      timestamp: '2026-12-02T12:00:00Z',
    };
    const posted = await call(proxy, {
      method: 'POST',
      path: 'v2/events/helpline_display',
      body: JSON.stringify(report),
      headers: { 'Content-Type': 'application/json' },
    });

    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.Allow).toBe('GET');
    expect(posted.status).toBe(202);
    expect(throughLine.events).toEqual([{ type: 'helpline_display', body: report }]);
  });
});

describe('proxy-throughline (bundled) — ThroughLine failing or refusing', () => {
  it('a 401 reports the token rejected: mint-token replaces it once, and the call is sent again with the new token', async () => {
    const broker = await newBroker();
    const proxy = await broker.startProxy({ upstreamBaseUrl: throughLine.url });
    await call(proxy, { path: 'v2/countries' });
    throughLine.revokeToken(tokenServer.issuedTokens[0] as string);

    const answer = await call(proxy, { path: 'v2/topics' });

    expect(answer.status).toBe(200);
    expect(tokenServer.issuedTokens).toHaveLength(2);
    const topics = throughLine.requests.filter((r) => r.path === '/v2/topics');
    expect(topics.map((r) => r.authorization)).toEqual(['refused', 'accepted']);
    expect(topics[1]?.tokenFingerprint).toBe(tokenFingerprint(tokenServer.issuedTokens[1] as string));
    expect(audits(proxy).at(-1)).toMatchObject({ status: 200, attempts: 2, outcome: 'forwarded' });
    expect(proxy.metricCounts()[MetricName.UpstreamApiTokenRejected]).toBe(1);
  });

  it("ThroughLine's 429 comes back with its Retry-After; a 5xx comes back unchanged; a reset is 502 upstream_unavailable", async () => {
    // Each on a broker of its own: after any of them the fleet-wide hold keeps the next call in.
    const answerTo = async (behaviour: Parameters<ThroughLineApi['enqueue']>[0]) => {
      const broker = await newBroker();
      const proxy = await broker.startProxy({ upstreamBaseUrl: throughLine.url });
      throughLine.enqueue(behaviour);
      return { answer: await call(proxy, { path: 'v2/countries' }), metrics: proxy.metricCounts() };
    };
    const throttled = await answerTo(tooManyRequests(17));
    const failing = await answerTo({ kind: 'raw', status: 503, body: 'maintenance' });
    const reset = await answerTo({ kind: 'reset' });

    expect(throttled.answer.status).toBe(429);
    expect(throttled.answer.headers['retry-after']).toBe('17');
    expect(throttled.answer.json).toEqual({ error: 'too_many_requests' });
    expect(failing.answer.status).toBe(503);
    expect(failing.answer.text).toBe('maintenance');
    expect(reset.answer.status).toBe(502);
    expect(reset.answer.json?.error).toBe('upstream_unavailable');
    expect(JSON.stringify(reset.answer.json)).not.toMatch(/ECONNRESET|socket|127\.0\.0\.1/);
    expect(throttled.metrics[MetricName.UpstreamApiThrottled]).toBe(1);
    expect(
      (failing.metrics[MetricName.UpstreamApiFailed] ?? 0) +
        (reset.metrics[MetricName.UpstreamApiFailed] ?? 0),
    ).toBe(2);
  });

  it('throttled for an hour (429, Retry-After 3600): 30 calls over 3 instances send ThroughLine one round, then nothing until the hour is up', async () => {
    const broker = await newBroker();
    const instances = await Promise.all(
      [1, 2, 3].map(() => broker.startProxy({ upstreamBaseUrl: throughLine.url })),
    );
    await call(instances[0] as WarmLambda, { path: 'v2/topics' }); // the token, and a healthy call
    for (let i = 0; i < 40; i++) throughLine.enqueue(tooManyRequests(3600));
    const before = throughLine.requests.length;

    const rounds: Answer[] = [];
    for (let round = 0; round < 10; round++) {
      rounds.push(...(await Promise.all(instances.map((i) => call(i, { path: 'v2/countries' })))));
    }

    // Calls already in flight when the first 429 came back may have gone out too: one round at most.
    const sent = throughLine.requests.length - before;
    expect(sent).toBeGreaterThanOrEqual(1);
    expect(sent).toBeLessThanOrEqual(instances.length);
    const held = rounds.filter(
      (a) => a.json?.error === 'upstream_unavailable' && a.headers['X-Broker-Cache'] === 'none',
    );
    expect(held).toHaveLength(rounds.length - sent);
    // The Retry-After the callers get is ThroughLine's hour, counted down.
    for (const answer of held) expect(Number(answer.headers['Retry-After'])).toBeGreaterThan(3500);
  });

  it('when the wait is over, exactly one instance probes; its success opens the API for all', async () => {
    const broker = await newBroker();
    const instances = await Promise.all(
      [1, 2, 3].map(() => broker.startProxy({ upstreamBaseUrl: throughLine.url })),
    );
    await call(instances[0] as WarmLambda, { path: 'v2/topics' });
    // Three failures in a row, and the wait already over (written as the proxy writes it).
    const dynamo = new DynamoDBClient({
      endpoint: inject('motoEndpoint'),
      region: MOTO_REGION,
      credentials: MOTO_CREDENTIALS,
    });
    await new ApiHoldStore(dynamo, broker.fixture.tableName).recordFailure(
      { failures: 0, untilMs: 0, probeUntilMs: 0 },
      Date.now() - 1,
    );
    await dynamo.send(
      new UpdateItemCommand({
        TableName: broker.fixture.tableName,
        Key: { pk: { S: UPSTREAM_API_HOLD_KEY } },
        UpdateExpression: 'SET failures = :three',
        ExpressionAttributeValues: { ':three': { N: '3' } },
      }),
    );
    const before = throughLine.requests.length;

    const first = await Promise.all(instances.map((i) => call(i, { path: 'v2/countries' })));
    const after = await Promise.all(instances.map((i) => call(i, { path: 'v2/countries' })));

    expect(first.filter((a) => a.status === 200)).toHaveLength(1);
    expect(first.filter((a) => a.json?.error === 'upstream_unavailable')).toHaveLength(2);
    expect(after.map((a) => a.status)).toEqual([200, 200, 200]);
    expect(throughLine.requests.length - before).toBe(4);
  });
});

describe('proxy-throughline (bundled) — the daily quota, shared', () => {
  it('a caller over its share gets 429 quota_share_exhausted with Retry-After; another caller is unaffected', async () => {
    const broker = await newBroker();
    const proxy = await broker.startProxy({
      upstreamBaseUrl: throughLine.url,
      proxySettings: {
        shares: {
          defaultDailyCalls: 50,
          // Configured by role ARN with a path: sessions name the role without it, and still match.
          byPrincipalArn: { 'arn:aws:iam::123456789012:role/teams/orders-service': 3 },
          byAccountId: {},
        },
      },
    });

    const orders = [];
    for (let i = 0; i < 4; i++) orders.push(await call(proxy, { path: 'v2/countries' }));
    const billing = await call(proxy, { path: 'v2/countries', callerArn: OTHER_CALLER });

    expect(orders.map((a) => a.status)).toEqual([200, 200, 200, 429]);
    const refused = orders[3] as Answer;
    expect(refused.json?.error).toBe('quota_share_exhausted');
    const retryAfter = Number(refused.headers['Retry-After']);
    // The first counted hour leaves the rolling window within 24 hours.
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(24 * 3600);
    expect(billing.status).toBe(200);
    expect(throughLine.requests).toHaveLength(4);
    expect(audits(proxy).at(-2)).toMatchObject({
      outcome: 'refused',
      share: 3,
      usedByCaller: 3,
      shareScope: 'principal',
    });
    expect(proxy.metricCounts()[MetricName.QuotaShareExhausted]).toBe(1);
  });

  it('at the reserve only the broker answers: 503 quota_reserve_reached, the page metric, ThroughLine not asked', async () => {
    const broker = await newBroker();
    // 1 token request + 3 API calls reach the reserve of 4.
    const proxy = await broker.startProxy({
      upstreamBaseUrl: throughLine.url,
      proxySettings: { dailyQuotaCalls: 5, reserveCalls: 4 },
    });

    const statuses = [];
    for (let i = 0; i < 5; i++)
      statuses.push(
        (await call(proxy, { path: 'v2/topics', callerArn: i % 2 ? OTHER_CALLER : DEFAULT_CALLER_ARN }))
          .status,
      );

    expect(statuses).toEqual([200, 200, 200, 503, 503]);
    expect(throughLine.requests).toHaveLength(3);
    expect(tokenServer.requests).toHaveLength(1);
    expect(proxy.metricCounts()[MetricName.QuotaReserveReached]).toBe(2);
    expect(audits(proxy).at(-1)).toMatchObject({ error: 'quota_reserve_reached', callsLast24Hours: 4 });
  });
});

describe('proxy-throughline (bundled) — the per-second limit, fleet-wide', () => {
  it('a burst over three instances never puts more than the limit in a second bucket, nor three times it in any second, upstream', async () => {
    const broker = await newBroker();
    const limit = 5;
    const instances = await Promise.all(
      [1, 2, 3].map(() =>
        broker.startProxy({
          upstreamBaseUrl: throughLine.url,
          proxySettings: { maxRequestsPerSecond: limit },
        }),
      ),
    );
    // Warm the token first so the burst is about the API calls alone.
    await call(instances[0] as WarmLambda, { path: 'v2/countries', callerArn: OTHER_CALLER });

    const burst = await Promise.all(
      Array.from({ length: 18 }, (_, i) => call(instances[i % 3] as WarmLambda, { path: 'v2/topics' })),
    );

    const served = burst.filter((a) => a.status === 200).length;
    const limited = burst.filter((a) => a.json?.error === 'rate_limited');
    expect(served + limited.length).toBe(burst.length);
    expect(limited.every((a) => a.headers['Retry-After'] === '1')).toBe(true);
    // The broker's own buckets (moto's table): never above the limit, whatever the instances did.
    const dynamo = new DynamoDBClient({
      endpoint: inject('motoEndpoint'),
      region: MOTO_REGION,
      credentials: MOTO_CREDENTIALS,
    });
    const items = await dynamo.send(new ScanCommand({ TableName: broker.fixture.tableName }));
    const buckets = (items.Items ?? []).filter((i) => i.pk?.S?.startsWith(RATE_KEY_PREFIX));
    expect(buckets.length).toBeGreaterThan(0);
    for (const bucket of buckets) expect(Number(bucket[RATE_COUNT_ATTRIBUTE]?.N)).toBeLessThanOrEqual(limit);
    expect(buckets.reduce((sum, b) => sum + Number(b[RATE_COUNT_ATTRIBUTE]?.N), 0)).toBe(served + 1);
    // What ThroughLine saw: a one-second window of arrivals spans at most three sending buckets
    // (two, plus calls that arrived up to a second late: a loaded test machine lags).
    expect(throughLine.peakRequestsPerSecond()).toBeLessThanOrEqual(3 * limit);
    expect(throughLine.requests).toHaveLength(served + 1);
  });
});

describe('proxy-throughline (bundled) — the shared response cache (off by default)', () => {
  const CACHE_ON = {
    cache: {
      ttlSecondsByPrefix: { '/v2/countries': 3_600, '/v2/helplines': 3_600 },
      staleIfErrorSeconds: 86_400,
    },
  };

  function cacheStore(broker: ServeTokenBroker): ResponseCacheStore {
    return new ResponseCacheStore(
      new DynamoDBClient({
        endpoint: inject('motoEndpoint'),
        region: MOTO_REGION,
        credentials: MOTO_CREDENTIALS,
      }),
      broker.fixture.tableName,
    );
  }

  it('off by default: every GET asks ThroughLine', async () => {
    const broker = await newBroker();
    const proxy = await broker.startProxy({ upstreamBaseUrl: throughLine.url });

    const answers = [
      await call(proxy, { path: 'v2/countries' }),
      await call(proxy, { path: 'v2/countries' }),
    ];

    expect(answers.map((a) => a.headers[CACHE_STATUS_HEADER])).toEqual(['miss', 'miss']);
    expect(throughLine.requests).toHaveLength(2);
  });

  it('on: the second GET is a hit (no ThroughLine call, no quota spent); the query is normalised into one key', async () => {
    const broker = await newBroker();
    const proxy = await broker.startProxy({
      upstreamBaseUrl: throughLine.url,
      proxySettings: { ...CACHE_ON, shares: { defaultDailyCalls: 1, byPrincipalArn: {}, byAccountId: {} } },
    });

    const first = await call(proxy, {
      path: 'v2/helplines',
      query: { country_code: 'us', topic: 'Anxiety' },
    });
    const second = await call(proxy, {
      path: 'v2/helplines',
      query: { topic: 'Anxiety', country_code: 'us' },
    });

    expect(first.headers[CACHE_STATUS_HEADER]).toBe('miss');
    // A share of 1 is spent by the first call: the hit costs none.
    expect(second.status).toBe(200);
    expect(second.headers[CACHE_STATUS_HEADER]).toBe('hit');
    expect(Number(second.headers.Age)).toBeGreaterThanOrEqual(0);
    expect(second.text).toBe(first.text);
    expect(throughLine.requests).toHaveLength(1);
    expect(proxy.metricCounts()[MetricName.ProxyCacheHit]).toBe(1);
    expect(audits(proxy).at(-1)).toMatchObject({ outcome: 'cached', cache: 'hit', status: 200 });
  });

  it('stale-if-error: past its TTL the last good answer is served, marked stale, when ThroughLine fails or the reserve is reached', async () => {
    const broker = await newBroker();
    const proxy = await broker.startProxy({ upstreamBaseUrl: throughLine.url, proxySettings: CACHE_ON });
    const good = await call(proxy, { path: 'v2/countries' });
    // The stored answer, aged past its TTL but inside its stale-if-error window (written as the proxy writes it).
    const store = cacheStore(broker);
    const key = responseCacheKey('/v2/countries', {});
    const stored = await store.get(key);
    expect(stored?.body).toBe(good.text);
    const now = Date.now();
    await store.put(key, {
      ...(stored as NonNullable<typeof stored>),
      storedAtMs: now - 7_200_000,
      freshUntilMs: now - 1,
      staleUntilMs: now + 3_600_000,
    });
    throughLine.enqueue({ kind: 'raw', status: 503, body: 'maintenance' }, { kind: 'reset' });

    const during5xx = await call(proxy, { path: 'v2/countries' });
    const duringReset = await call(proxy, { path: 'v2/countries' });

    for (const answer of [during5xx, duringReset]) {
      expect(answer.status).toBe(200);
      expect(answer.headers[CACHE_STATUS_HEADER]).toBe('stale');
      expect(Number(answer.headers.Age)).toBeGreaterThanOrEqual(7_200);
      expect(answer.text).toBe(good.text);
    }
    expect(proxy.metricCounts()[MetricName.ProxyCacheStaleServed]).toBe(2);
    expect(audits(proxy).at(-1)).toMatchObject({ cache: 'stale', instead: 'upstream_unavailable' });

    // At the reserve: the stale answer instead of 503, and ThroughLine is not asked.
    const atReserve = await broker.startProxy({
      upstreamBaseUrl: throughLine.url,
      // token 1 + the good call + the 503 (the reset was held, not sent): the reserve of 3 is reached.
      proxySettings: { ...CACHE_ON, dailyQuotaCalls: 4, reserveCalls: 3 },
    });
    const requests = throughLine.requests.length;
    const reserved = await call(atReserve, { path: 'v2/countries' });
    expect(reserved.headers[CACHE_STATUS_HEADER]).toBe('stale');
    expect(throughLine.requests).toHaveLength(requests);
    expect(atReserve.metricCounts()[MetricName.QuotaReserveReached]).toBe(1);
  });

  it('the whole helpline directory (~450 KB of JSON) is cached gzipped within the item limit and served whole', async () => {
    const large = await ThroughLineApi.start(inject('trustedTls'), {
      directory: { ...SMALL_DIRECTORY, helplines: syntheticHelplines(300) },
    });
    large.acceptTokensIssuedBy(tokenServer);
    try {
      const broker = await newBroker();
      const proxy = await broker.startProxy({ upstreamBaseUrl: large.url, proxySettings: CACHE_ON });

      const first = await call(proxy, { path: 'v2/helplines' });
      const second = await call(proxy, { path: 'v2/helplines' });

      expect(first.text.length).toBeGreaterThan(400_000);
      expect(second.headers[CACHE_STATUS_HEADER]).toBe('hit');
      expect(second.text).toBe(first.text);
      expect(large.requests).toHaveLength(1);
      expect(proxy.metricCounts()[MetricName.ProxyCacheStoreSkipped]).toBeUndefined();
    } finally {
      await large.stop();
    }
  });
});
