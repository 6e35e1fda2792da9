import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { DeleteItemCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { Duration } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { METRIC_NAMESPACE, MetricName } from '../../contract/metric-names';
import { OPERATOR_ALIAS } from '../../contract/mint-token-payload';
import { UPSTREAM_API_HOLD_KEY } from '../../contract/token-cache-schema';
import { stageSchema } from '../../lib/config/schema';
import { ALARM_CATALOG, type AlarmScopes } from '../../lib/constructs/monitoring/alarm-catalog';
import {
  brokerMetrics,
  deliveryFailureMetrics,
  proxyMetrics,
  refreshWorkflowMetrics,
} from '../../lib/constructs/monitoring/metric-factory';
import {
  PROXY_AUDIT_MESSAGE,
  PROXY_RULES,
  proxyRuleBody,
} from '../../lib/constructs/monitoring/proxy-insight-rules';
import { RUNBOOK_DIRECTORY, Runbook } from '../../lib/constructs/monitoring/runbooks';
import { type ProxyEventOptions, proxyRequestEvent } from '../kit/builders/api-gateway-event';
import { PROJECT_ROOT } from '../kit/builders/cdk-context';
import { evaluateInsightRule, parseInsightRule } from '../kit/builders/contributor-insights';
import { emfDatapoints } from '../kit/builders/emf';
import { LambdaInvokeEmulator } from '../kit/emulators/lambda-invoke';
import { RecordingAwsProxy } from '../kit/emulators/recording-aws-proxy';
import { ThroughLineApi, tooManyRequests } from '../kit/fakes/throughline-api';
import { FakeTokenServer } from '../kit/fakes/token-server';
import { MOTO_CREDENTIALS, MOTO_REGION } from '../kit/local-aws/moto';
import { type InvokeOutcome, invokeBundled } from '../kit/runners/invoke-bundled';
import type { WarmLambda } from '../kit/runners/warm-lambda';
import { BrokerFixture, makeCredentials } from '../kit/vitest/broker-fixture';
import { expectNoSecretIn } from '../kit/vitest/leaks';
import { bundled } from '../kit/vitest/rotation-fixture';
import { ServeTokenBroker, worldSources } from '../kit/vitest/serve-token-harness';

/**
 * The contract between the handlers and the alarms: every broker metric an alarm reads
 * (namespace, name, dimension names and values) is emitted by the bundled handler that owns it, as
 * `cdk synth` packages it, with exactly that dimension set — mint-token for the broker and refresh
 * alarms, proxy-throughline for proxy mode's. A renamed metric or a changed dimension on either side
 * fails here. The proxy's Contributor Insights rules are evaluated on its own audit lines too.
 */

/** Broker metrics another component emits; the lead removes an entry when that component lands. */
const EMITTED_ELSEWHERE: Partial<Record<MetricName, string>> = {};

interface EmittedMetric {
  readonly namespace: string;
  readonly name: string;
  /** Dimension name → value, one entry per dimension set the record declares. */
  readonly dimensions: Record<string, string>;
}

function emittedMetrics(outcome: Pick<InvokeOutcome, 'logRecords'>): EmittedMetric[] {
  return emfDatapoints(outcome.logRecords).map(({ namespace, name, dimensions }) => ({
    namespace,
    name,
    dimensions,
  }));
}

/** Every metric (namespace, name, dimensions) inside an alarm metric, math expressions included. */
function metricsRead(metric: cloudwatch.IMetric): EmittedMetric[] {
  const config = metric.toMetricConfig();
  if (config.metricStat) {
    return [
      {
        namespace: config.metricStat.namespace,
        name: config.metricStat.metricName,
        dimensions: Object.fromEntries(
          (config.metricStat.dimensions ?? []).map((d) => [d.name, String(d.value)]),
        ),
      },
    ];
  }
  return Object.values(config.mathExpression?.usingMetrics ?? {}).flatMap(metricsRead);
}

const mintToken = () => bundled('MintToken');

let server: FakeTokenServer;
beforeAll(async () => {
  server = await FakeTokenServer.start(inject('trustedTls'));
});
afterAll(async () => {
  await server.stop();
});

/** mint-token as the operator invokes it (CLI): the only entry point that may force or override. */
const OPERATOR_ARN = `arn:aws:lambda:us-east-1:123456789012:function:mint-token:${OPERATOR_ALIAS}`;

async function run(fixture: BrokerFixture, events: unknown[], invokedFunctionArn?: string) {
  const env = fixture.functionEnv(mintToken().environment, (s) => {
    s.upstream = {
      ...s.upstream,
      tokenUrl: server.url,
      requestTimeoutMs: 1_000,
      backoffBaseMs: 10,
      backoffCapMs: 50,
    };
  });
  return invokeBundled({
    bundle: mintToken().bundle,
    env: invokedFunctionArn ? { ...env, LOCAL_INVOKED_FUNCTION_ARN: invokedFunctionArn } : env,
    events,
  });
}

describe('metrics the alarms read are the metrics the handler emits', () => {
  const serviceName = () => mintToken().environment.POWERTOOLS_SERVICE_NAME as string;

  it('the handler names its metrics after the stack, the dimension the alarms filter on', () => {
    expect(serviceName()).toBe('ThroughLineTokenBroker-dev');
  });

  it('every broker metric of every alarm is emitted with the alarm’s exact dimension set', async () => {
    // Prepare: a success, a fresh re-read, then an operator's forced mint past the gate with
    // credentials ThroughLine rejects, and a broker without credentials.
    const fixture = await BrokerFixture.create(makeCredentials());
    const emitted = emittedMetrics(await run(fixture, [{ action: 'ensure' }, { action: 'refresh' }]));
    server.fallback = { kind: 'json', status: 401, body: { error: 'invalid_client' } };
    emitted.push(
      ...emittedMetrics(
        await run(
          fixture,
          [{ action: 'ensure', force: true, overrideReason: 'metric contract test', requestedBy: 'test' }],
          OPERATOR_ARN,
        ),
      ),
    );
    server.reset();
    // And a broker that never had credentials (the first-deploy state).
    emitted.push(
      ...emittedMetrics(await run(await BrokerFixture.create(undefined), [{ action: 'refresh' }])),
    );

    // Act: every metric the catalogue's alarms read, with the deployed service name.
    const config = stageSchema.parse({}).monitoring;
    const broker = brokerMetrics(serviceName());
    const scopes: Pick<AlarmScopes, 'broker' | 'refreshWorkflow'> = {
      broker: { broker, deliveryFailures: deliveryFailureMetrics('queue') },
      refreshWorkflow: {
        broker,
        refresh: refreshWorkflowMetrics('arn:aws:states:eu-west-2:111122223333:stateMachine:x'),
        refreshWindow: Duration.minutes(10),
      },
    };
    const read = ALARM_CATALOG.flatMap((spec) =>
      spec.scope === 'broker' || spec.scope === 'refreshWorkflow'
        ? metricsRead(
            (spec.metric as (s: unknown, c: unknown) => cloudwatch.IMetric)(scopes[spec.scope], config),
          )
        : [],
    ).filter((m) => m.namespace === METRIC_NAMESPACE);

    // Assess
    expect(new Set(read.map((m) => m.name))).toEqual(
      new Set([
        MetricName.InvalidClient,
        MetricName.MintFailed,
        MetricName.UpstreamTokenRequest,
        MetricName.CredentialAgeDays,
        MetricName.CachedTokenSecondsToExpiry,
        MetricName.UpstreamGateClosedSeconds,
        MetricName.UpstreamBudgetUsedPercent,
        MetricName.UpstreamGateOverridden,
        MetricName.BrokerNotConfigured,
      ]),
    );
    for (const metric of read) {
      if (EMITTED_ELSEWHERE[metric.name as MetricName]) continue;
      expect(emitted, `${metric.name} ${JSON.stringify(metric.dimensions)}`).toContainEqual(metric);
    }
  });

  it('mint failures are emitted per reason too, for diagnosis', async () => {
    const fixture = await BrokerFixture.create(makeCredentials());
    server.fallback = { kind: 'json', status: 401, body: { error: 'invalid_client' } };
    const emitted = emittedMetrics(await run(fixture, [{ action: 'ensure' }]));
    server.reset();
    expect(emitted).toContainEqual({
      namespace: METRIC_NAMESPACE,
      name: MetricName.MintFailed,
      dimensions: { service: serviceName(), Reason: 'invalid_client' },
    });
    expect(emitted.filter((m) => m.name === MetricName.MintFailed)).toHaveLength(2);
  });

  it('every metric name listed as emitted elsewhere is one the alarms really read', () => {
    for (const name of Object.keys(EMITTED_ELSEWHERE)) expect(Object.values(MetricName)).toContain(name);
  });
});

describe('proxy mode: what its alarms, dashboard and Contributor Insights rules read is what the bundled proxy writes', () => {
  const ORDERS_ROLE = 'arn:aws:iam::123456789012:role/orders-service';
  const BILLING_CALLER = 'arn:aws:sts::123456789012:assumed-role/billing-service/i-0def';
  const BILLING_ROLE = 'arn:aws:iam::123456789012:role/billing-service';

  let throughLine: ThroughLineApi;
  let standIn: LambdaInvokeEmulator;
  let awsProxy: RecordingAwsProxy;
  let broker: ServeTokenBroker;
  let instances: WarmLambda[];
  let answers: string[];

  const call = async (instance: WarmLambda, options: ProxyEventOptions) => {
    const result = await instance.invoke<APIGatewayProxyResult>(proxyRequestEvent(options));
    if (!result.ok) throw new Error(`proxy-throughline failed: ${result.error.message}`);
    answers.push(JSON.stringify(result.value));
    return result.value.statusCode;
  };

  beforeAll(async () => {
    server.reset();
    throughLine = await ThroughLineApi.start(inject('trustedTls'));
    throughLine.acceptTokensIssuedBy(server);
    standIn = await LambdaInvokeEmulator.start();
    awsProxy = await RecordingAwsProxy.start(inject('motoEndpoint'));
    broker = await ServeTokenBroker.createFrom(worldSources(), {
      tokenServer: server,
      standIn,
      proxy: awsProxy,
    });
    answers = [];

    // One proxy as deployed: a call forwarded (200), one after a 401 (re-mint, retried), ThroughLine's
    // 429, its 503 and a reset connection, and a path the proxy refuses.
    const deployed = await broker.startProxy({ upstreamBaseUrl: throughLine.url });
    const statuses = [await call(deployed, { path: 'v2/countries' })];
    throughLine.revokeToken(server.issuedTokens[0] as string);
    statuses.push(await call(deployed, { path: 'v2/topics', callerArn: BILLING_CALLER }));
    throughLine.enqueue(
      tooManyRequests(7),
      { kind: 'raw', status: 503, body: 'maintenance' },
      { kind: 'reset' },
    );
    // Each failure closes the fleet-wide hold; it is lifted in between so all three reach ThroughLine.
    const liftHold = () =>
      new DynamoDBClient({
        endpoint: inject('motoEndpoint'),
        region: MOTO_REGION,
        credentials: MOTO_CREDENTIALS,
      }).send(
        new DeleteItemCommand({
          TableName: broker.fixture.tableName,
          Key: { pk: { S: UPSTREAM_API_HOLD_KEY } },
        }),
      );
    for (let i = 0; i < 3; i++) {
      statuses.push(await call(deployed, { path: 'v2/countries' }));
      await liftHold();
    }
    statuses.push(await call(deployed, { path: 'admin' }));
    // A caller over its share (it has used 4 calls), and the reserve (8 calls counted: 2 token requests, 6 API calls).
    const shares = await broker.startProxy({
      upstreamBaseUrl: throughLine.url,
      proxySettings: { shares: { defaultDailyCalls: 4, byPrincipalArn: {}, byAccountId: {} } },
    });
    statuses.push(await call(shares, { path: 'v2/countries' }));
    const reserve = await broker.startProxy({
      upstreamBaseUrl: throughLine.url,
      proxySettings: { dailyQuotaCalls: 10, reserveCalls: 5 },
    });
    statuses.push(await call(reserve, { path: 'v2/countries', callerArn: BILLING_CALLER }));
    instances = [deployed, shares, reserve];

    expect(statuses).toEqual([200, 200, 429, 503, 502, 404, 429, 503]);
    expect(server.issuedTokens).toHaveLength(2);
  });
  afterAll(async () => {
    expectNoSecretIn(
      [...broker.logLines, ...answers],
      [broker.credentials.client_secret, ...server.issuedTokens],
    );
    await broker.stop();
    await Promise.all([throughLine.stop(), standIn.stop(), awsProxy.stop()]);
    server.reset();
  });

  const serviceName = () => bundled('Proxy').environment.POWERTOOLS_SERVICE_NAME as string;
  const emitted = () => instances.flatMap((i) => emittedMetrics({ logRecords: i.logRecords }));
  const audits = () =>
    instances
      .flatMap((i) => i.logRecords)
      .filter((r) => r.message === PROXY_AUDIT_MESSAGE)
      .map((r) => r.audit as Record<string, unknown>);

  it('every broker metric of every proxy alarm is emitted with the alarm’s exact dimension set', () => {
    expect(serviceName()).toBe('ThroughLineTokenBroker-dev');
    const config = stageSchema.parse({}).monitoring;
    const sources: AlarmScopes['proxy'] = { proxy: proxyMetrics(serviceName()) };
    const read = ALARM_CATALOG.flatMap((spec) =>
      spec.scope === 'proxy'
        ? metricsRead((spec.metric as (s: unknown, c: unknown) => cloudwatch.IMetric)(sources, config))
        : [],
    );

    expect(new Set(read.map((m) => m.name))).toEqual(
      new Set([
        MetricName.QuotaReserveReached,
        MetricName.QuotaShareExhausted,
        MetricName.UpstreamApiCall,
        MetricName.UpstreamApiFailed,
        MetricName.UpstreamApiThrottled,
      ]),
    );
    for (const metric of read) {
      expect(metric.namespace).toBe(METRIC_NAMESPACE);
      expect(emitted(), `${metric.name} ${JSON.stringify(metric.dimensions)}`).toContainEqual(metric);
    }
    // The counts the rates divide: every request ThroughLine saw is one UpstreamApiCall.
    const sum = (name: MetricName) =>
      emfDatapoints(instances.flatMap((i) => i.logRecords))
        .filter((d) => d.name === name)
        .reduce((a, d) => a + d.value, 0);
    expect(sum(MetricName.UpstreamApiCall)).toBe(throughLine.requests.length);
    expect(sum(MetricName.UpstreamApiFailed)).toBe(2);
    expect(sum(MetricName.UpstreamApiThrottled)).toBe(1);
  });

  it("every metric the dashboard's proxy section draws is emitted with that dimension set (those this scenario causes)", () => {
    // Not caused here: the per-second limit filling up (proxy-throughline.test.ts's burst) and the
    // response cache (off by default).
    const notCaused = new Set<string>([
      MetricName.ProxyRateLimited,
      MetricName.ProxyCacheHit,
      MetricName.ProxyCacheStaleServed,
      MetricName.ProxyCacheStoreSkipped,
    ]);
    const factory = proxyMetrics(serviceName());
    const drawn = Object.values(factory).flatMap((make) => metricsRead((make as () => cloudwatch.IMetric)()));
    expect(new Set(drawn.map((m) => m.name))).toEqual(
      new Set([
        MetricName.ProxyRequest,
        MetricName.UpstreamApiCall,
        MetricName.UpstreamApiLatency,
        MetricName.UpstreamApiFailed,
        MetricName.UpstreamApiThrottled,
        MetricName.UpstreamApiTokenRejected,
        MetricName.QuotaShareExhausted,
        MetricName.QuotaReserveReached,
        MetricName.QuotaCallsLast24Hours,
        MetricName.QuotaUsedPercent,
        MetricName.ProxyRateLimited,
        MetricName.ProxyRequestRefused,
        MetricName.ProxyCacheHit,
        MetricName.ProxyCacheStaleServed,
        MetricName.ProxyCacheStoreSkipped,
      ]),
    );
    for (const metric of drawn) {
      if (notCaused.has(metric.name)) continue;
      expect(emitted(), `${metric.name} ${JSON.stringify(metric.dimensions)}`).toContainEqual(metric);
    }
  });

  it('the Contributor Insights rules count the audit lines as written: ThroughLine calls per caller role, refusals for a share', () => {
    // What CloudWatch Logs holds: every line the function wrote (Powertools' JSON, EMF records), less
    // the plain-text lines of Node 20's AWS SDK support warning on stderr (the deployed Node 24 does not
    // write it; Contributor Insights would skip such lines anyway).
    const lines = instances.flatMap((i) => i.logLines).filter((l) => l.startsWith('{'));
    const rule = (definition: (typeof PROXY_RULES)[keyof typeof PROXY_RULES]) =>
      evaluateInsightRule(parseInsightRule(proxyRuleBody(definition, 'proxy-log-group')), lines);

    const consumers = rule(PROXY_RULES.consumers);
    expect(consumers.unreadableLines).toBe(0);
    // orders: 200, 429, 503, reset; billing: 401 and its retry. Refusals before sending count nothing.
    expect(Object.fromEntries(consumers.contributors)).toEqual({ [ORDERS_ROLE]: 4, [BILLING_ROLE]: 2 });
    expect(consumers.sum).toBe(throughLine.requests.length);

    const refused = rule(PROXY_RULES.shareRefused);
    expect(Object.fromEntries(refused.contributors)).toEqual({ [ORDERS_ROLE]: 1 });
  });

  it("the runbooks' Logs Insights queries on the proxy's log group name only audit fields the proxy writes", () => {
    const written = new Set(audits().flatMap((a) => Object.keys(a)));
    const proxyRunbooks = [
      Runbook.QuotaReserveReached,
      Runbook.QuotaShareExhausted,
      Runbook.ThroughLineApiFailures,
      Runbook.ThroughLineApiThrottled,
    ];
    for (const name of proxyRunbooks) {
      const text = readFileSync(path.join(PROJECT_ROOT, RUNBOOK_DIRECTORY, `${name}.md`), 'utf8');
      const queries = [...text.matchAll(/```\n\s*(filter[\s\S]*?)```/g)].map((m) => m[1] as string);
      expect(queries.length, name).toBeGreaterThan(0);
      for (const query of queries) {
        expect(query, name).toContain(`message = "${PROXY_AUDIT_MESSAGE}"`);
        for (const [, field] of query.matchAll(/\baudit\.([A-Za-z0-9]+)/g)) {
          expect(written, `${name}: audit.${field}`).toContain(field);
        }
      }
    }
  });
});
