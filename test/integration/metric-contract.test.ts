import { Duration } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { METRIC_NAMESPACE, MetricName } from '../../contract/metric-names';
import { OPERATOR_ALIAS } from '../../contract/mint-token-payload';
import { stageSchema } from '../../lib/config/schema';
import { ALARM_CATALOG, type AlarmScopes } from '../../lib/constructs/monitoring/alarm-catalog';
import {
  brokerMetrics,
  deliveryFailureMetrics,
  refreshWorkflowMetrics,
} from '../../lib/constructs/monitoring/metric-factory';
import { emfDatapoints } from '../kit/builders/emf';
import { FakeTokenServer } from '../kit/fakes/token-server';
import { type InvokeOutcome, invokeBundled } from '../kit/runners/invoke-bundled';
import { BrokerFixture, makeCredentials } from '../kit/vitest/broker-fixture';
import { bundled } from '../kit/vitest/rotation-fixture';

/**
 * The contract between the handlers and the alarms: every broker metric an alarm reads
 * (namespace, name, dimension names and values) is emitted by the bundled mint-token handler, as
 * `cdk synth` packages it, with exactly that dimension set. A renamed metric or a changed
 * dimension on either side fails here.
 */

/** Broker metrics another component emits; the lead removes an entry when that component lands. */
const EMITTED_ELSEWHERE: Partial<Record<MetricName, string>> = {};

interface EmittedMetric {
  readonly namespace: string;
  readonly name: string;
  /** Dimension name → value, one entry per dimension set the record declares. */
  readonly dimensions: Record<string, string>;
}

function emittedMetrics(outcome: InvokeOutcome): EmittedMetric[] {
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
