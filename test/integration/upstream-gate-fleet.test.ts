import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { MetricName } from '../../contract/metric-names';
import { CACHE_KEY_ATTRIBUTE, CURRENT_TOKEN_KEY } from '../../contract/token-cache-schema';
import { tokenFingerprint } from '../../contract/token-fingerprint';
import { tokenRequestEvent } from '../kit/builders/api-gateway-event';
import { LambdaInvokeEmulator } from '../kit/emulators/lambda-invoke';
import { RecordingAwsProxy } from '../kit/emulators/recording-aws-proxy';
import { FakeTokenServer } from '../kit/fakes/token-server';
import type { WarmLambda } from '../kit/runners/warm-lambda';
import { expectNoSecretIn } from '../kit/vitest/leaks';
import { ServeTokenBroker, type SettingsPatch, worldSources } from '../kit/vitest/serve-token-harness';

/**
 * The upstream gate as a fleet property, on the bundled functions as `cdk synth` packages them:
 * several warm serve-token processes, mint-token behind the Lambda Invoke stand-in with no reserved
 * concurrency (the default) and, where it matters, several mint-token processes too, moto_server for
 * DynamoDB and KMS, and the local HTTPS token server. The gate keeps its deployed defaults (backoff
 * 5 s doubling to 300 s, daily budget 200) unless a test says otherwise.
 *
 * What is counted: upstream token requests (the token server's log), mint-token invocations, AWS
 * calls per instance. The only timing asserted is the ceiling on a caller's wait (5 s,
 * against a request budget of 4 s), with the margin that leaves.
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

async function newBroker(
  options: { readonly mintSettings?: SettingsPatch; readonly mintInstances?: number } = {},
): Promise<ServeTokenBroker> {
  const broker = await ServeTokenBroker.createFrom(worldSources(), {
    tokenServer,
    standIn,
    proxy,
    ...options,
  });
  brokers.push(broker);
  return broker;
}

interface Answer {
  readonly status: number;
  readonly retryAfter: number | undefined;
  readonly body: Record<string, unknown>;
  readonly waitedMs: number;
}

async function ask(instance: WarmLambda, query?: Record<string, string>): Promise<Answer> {
  const startedMs = Date.now();
  const result = await instance.invoke<APIGatewayProxyResult>(tokenRequestEvent(query ? { query } : {}));
  const waitedMs = Date.now() - startedMs;
  // A function error is what API Gateway turns into a 502: never acceptable here.
  if (!result.ok) throw new Error(`serve-token failed: ${result.error.name}: ${result.error.message}`);
  const header = result.value.headers?.['Retry-After'];
  return {
    status: result.value.statusCode,
    retryAfter: header === undefined ? undefined : Number(header),
    body: JSON.parse(result.value.body) as Record<string, unknown>,
    waitedMs,
  };
}

/** Every instance asks every `intervalMs` for `durationMs` without waiting for its previous answer. */
async function askEvery(
  instances: readonly WarmLambda[],
  intervalMs: number,
  durationMs: number,
): Promise<Answer[]> {
  const pending: Promise<Answer>[] = [];
  const endMs = Date.now() + durationMs;
  while (Date.now() < endMs) {
    for (const instance of instances) pending.push(ask(instance));
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  return Promise.all(pending);
}

const startInstances = (broker: ServeTokenBroker, count: number) =>
  Promise.all(Array.from({ length: count }, (_, i) => broker.startServe({ accessKeyId: `instance-${i}` })));

const mintLogRecords = (broker: ServeTokenBroker) => broker.mintInstances.flatMap((m) => m.logRecords);

/** The request budget callers are promised (api.requestBudgetMs), and the ceiling. */
const REQUEST_BUDGET_MS = 4_000;
const CEILING_MS = 5_000;

describe('ThroughLine down (every token request answered 5xx)', () => {
  it('30 s, 6 warm instances asking every 250 ms, 3 mint-token environments: at most 12 upstream requests; every caller gets 503 with a true Retry-After within 5 s', async () => {
    const broker = await newBroker({ mintInstances: 3 });
    tokenServer.fallback = { kind: 'json', status: 503, body: { error: 'temporarily_unavailable' } };
    const instances = await startInstances(broker, 6);

    const answers = await askEvery(instances, 250, 30_000);

    const upstream = tokenServer.requests.length;
    expect(answers.length).toBeGreaterThanOrEqual(600);
    expect(upstream).toBeGreaterThanOrEqual(1);
    expect(upstream).toBeLessThanOrEqual(12);
    for (const answer of answers) {
      expect(answer.status).toBe(503);
      expect(answer.body.error).toBe('token_unavailable');
      // The gate's own time until the next attempt: at least 1 s, at most its backoff cap (300 s).
      expect(answer.retryAfter).toBeGreaterThanOrEqual(1);
      expect(answer.retryAfter).toBeLessThanOrEqual(300);
    }
    const slowest = Math.max(...answers.map((a) => a.waitedMs));
    expect(slowest).toBeLessThanOrEqual(CEILING_MS);
    // Instances cool down until the gate's Retry-After: most answers never reach mint-token.
    const mintCalls = standIn.invocations.filter((i) => i.functionName === broker.mintFunctionName).length;
    expect(mintCalls).toBeLessThan(answers.length / 4);
    console.info(
      `outage 30 s: ${answers.length} requests, ${upstream} upstream, ${mintCalls} mint-token invocations, slowest answer ${slowest} ms`,
    );
  });

  it('10 s with a token past its refresh point but still valid: every caller is served it (stale) from memory, without a DynamoDB read and KMS decrypt per request', async () => {
    const broker = await newBroker({
      mintSettings: (s) => {
        s.token = { ...s.token, refreshAtFraction: 0.0001 };
      },
    });
    const instances = await startInstances(broker, 4);
    const first = await ask(instances[0] as WarmLambda);
    expect(first.status).toBe(200);
    tokenServer.fallback = { kind: 'raw', status: 502, body: 'bad gateway' };
    proxy.reset();

    const answers = await askEvery(instances, 250, 10_000);

    expect(answers.every((a) => a.status === 200 && a.body.access_token === first.body.access_token)).toBe(
      true,
    );
    expect(tokenServer.requests.length).toBeLessThanOrEqual(1 + 6);
    for (const [i, instance] of instances.entries()) {
      const label = `instance-${i}`;
      // L1 serves the stale token while the instance knows the gate is closed: reads only when the
      // cool-down ends (each ≥ 2.5 s at the first backoff) or the memory copy is older than l1MaxAge.
      expect(proxy.count('dynamodb:GetItem', label)).toBeLessThanOrEqual(10);
      expect(proxy.count('kms:Decrypt', label)).toBeLessThanOrEqual(10);
      expect(instance.metricCounts()[MetricName.StaleTokenServed]).toBeGreaterThan(20);
    }
  });

  it('ThroughLine slow (answers after 20 s): callers are answered 503 within the request budget, never a timeout', async () => {
    const broker = await newBroker({
      mintSettings: (s) => {
        // As deployed: each attempt may wait up to 10 s for ThroughLine; the caller's budget bounds it.
        s.upstream = { ...s.upstream, requestTimeoutMs: 10_000 };
      },
    });
    tokenServer.fallback = { kind: 'delay', ms: 20_000, followedBy: { kind: 'token', expiresIn: 3600 } };
    const instances = await startInstances(broker, 3);

    const answers = (await Promise.all(instances.map((i) => ask(i)))).concat(
      await Promise.all(instances.map((i) => ask(i))),
    );

    for (const answer of answers) {
      expect(answer.status).toBe(503);
      expect(answer.retryAfter).toBeGreaterThanOrEqual(1);
      expect(answer.waitedMs).toBeLessThanOrEqual(CEILING_MS);
    }
    expect(tokenServer.requests).toHaveLength(1);
    expect(Math.max(...answers.map((a) => a.waitedMs))).toBeLessThanOrEqual(REQUEST_BUDGET_MS + 500);
  });
});

describe('ThroughLine throttling (429 with Retry-After: 600)', () => {
  it('no upstream request after the first inside the window, whoever asks: 4 serve instances for 5 s and the schedule', async () => {
    const broker = await newBroker({ mintInstances: 2 });
    tokenServer.fallback = {
      kind: 'json',
      status: 429,
      body: { error: 'rate_limited' },
      headers: { 'retry-after': '600' },
    };
    const instances = await startInstances(broker, 4);

    const answers = await askEvery(instances, 250, 5_000);
    const scheduled = await broker.mint.invoke<Record<string, unknown>>({
      action: 'refresh',
      requestedBy: 'schedule',
    });

    expect(tokenServer.requests).toHaveLength(1);
    for (const answer of answers) {
      expect(answer.status).toBe(503);
      // ThroughLine's 600 s, counted down: not a fixed broker value.
      expect(answer.retryAfter).toBeGreaterThanOrEqual(590);
      expect(answer.retryAfter).toBeLessThanOrEqual(600);
    }
    expect(scheduled.ok && scheduled.value).toMatchObject({
      outcome: 'deferred',
      reason: 'rate_limited',
      attempted: false,
    });
    // (The CLI without the override: test/unit/cli-token-ops.test.ts, "the upstream gate, whoever asks".)
  });
});

describe('the hard daily budget', () => {
  it('with a budget of 2, the request after it is refused without an upstream call, and the alarm metrics say so', async () => {
    const broker = await newBroker({
      mintSettings: (s) => {
        s.gate = { ...s.gate, dailyRequestBudget: 2 };
      },
    });
    for (let i = 0; i < 2; i++) {
      expect((await ask(await broker.startServe())).status).toBe(200);
      expect((await broker.operatorInvoke({ action: 'flush', requestedBy: 'test' })).ok).toBe(true);
    }
    expect(tokenServer.requests).toHaveLength(2);

    const refused = await ask(await broker.startServe());

    expect(tokenServer.requests).toHaveLength(2);
    expect(refused.status).toBe(503);
    // Until the oldest counted hour leaves the rolling 24 h window.
    expect(refused.retryAfter).toBeGreaterThan(20 * 3600);
    expect(refused.retryAfter).toBeLessThanOrEqual(24 * 3600);
    const records = mintLogRecords(broker);
    expect(records.some((r) => r[MetricName.UpstreamBudgetExhausted] === 1)).toBe(true);
    expect(records.some((r) => r[MetricName.UpstreamBudgetUsedPercent] === 100)).toBe(true);
  });
});

describe('min_ttl never causes a mint that cannot help', () => {
  it('min_ttl 900 while ThroughLine issues 600-s tokens, 30 requests over 3 instances: at most one upstream request, each answered 400', async () => {
    const broker = await newBroker();
    tokenServer.fallback = { kind: 'token', expiresIn: 600 };
    const instances = await startInstances(broker, 3);

    const answers: Answer[] = [];
    for (let i = 0; i < 10; i++)
      answers.push(...(await Promise.all(instances.map((instance) => ask(instance, { min_ttl: '900' })))));

    expect(tokenServer.requests.length).toBeLessThanOrEqual(1);
    expect(answers).toHaveLength(30);
    for (const answer of answers) {
      expect(answer.status).toBe(400);
      expect(answer.body.message).toMatch(/lifetime ThroughLine gives its tokens \(600 s\)/);
    }
  });
});

describe('a token rejected downstream', () => {
  it('50 consumers on 5 instances report the same rejected token: one re-mint, all get the new token; late reports mint nothing', async () => {
    const broker = await newBroker({ mintInstances: 2 });
    const instances = await startInstances(broker, 5);
    const first = await ask(instances[0] as WarmLambda);
    const rejected = tokenFingerprint(first.body.access_token as string);

    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) => ask(instances[i % 5] as WarmLambda, { rejected })),
    );
    const late = await Promise.all(instances.map((i) => ask(i, { rejected })));

    expect(tokenServer.requests).toHaveLength(2);
    const replacement = tokenServer.issuedTokens[1];
    for (const answer of [...answers, ...late]) {
      expect(answer.status).toBe(200);
      expect(answer.body.access_token).toBe(replacement);
    }
  });
});

describe('heal instead of waiting', () => {
  it('a cached item that cannot be decrypted: one mint replaces it (3 cold instances at once), then 200 from the cache', async () => {
    const broker = await newBroker({ mintInstances: 2 });
    expect((await ask(await broker.startServe())).status).toBe(200);
    // The AES-GCM tag no longer matches: the item cannot be decrypted (as a damaged item would be).
    await broker.fixture.dynamo.send(
      new UpdateItemCommand({
        TableName: broker.fixture.tableName,
        Key: { [CACHE_KEY_ATTRIBUTE]: { S: CURRENT_TOKEN_KEY } },
        UpdateExpression: 'SET #tag = :tag',
        ExpressionAttributeNames: { '#tag': 'tag' },
        ExpressionAttributeValues: { ':tag': { S: Buffer.alloc(16, 7).toString('base64') } },
      }),
    );

    const healed = await Promise.all((await startInstances(broker, 3)).map((i) => ask(i)));
    const after = await ask(await broker.startServe());

    expect(tokenServer.requests).toHaveLength(2);
    for (const answer of [...healed, after]) {
      expect(answer.status).toBe(200);
      expect(answer.body.access_token).toBe(tokenServer.issuedTokens[1]);
    }
  });
});
