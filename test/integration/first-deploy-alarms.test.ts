import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ALARM_CATALOG } from '../../lib/constructs/monitoring/alarm-catalog';
import { AlarmEvaluator, type AlarmState, type Datapoint } from '../kit/builders/alarm-evaluator';
import { resolveCfn } from '../kit/builders/cfn-resolve';
import { emfDatapoints } from '../kit/builders/emf';
import { synthBroker } from '../kit/builders/synth';
import { FakeTokenServer } from '../kit/fakes/token-server';
import { invokeBundled } from '../kit/runners/invoke-bundled';
import { BrokerFixture, makeCredentials } from '../kit/vitest/broker-fixture';
import { expectNoSecretIn } from '../kit/vitest/leaks';
import { bundled } from '../kit/vitest/rotation-fixture';

/**
 * The first deploy, end to end for on-call: the bundled mint-token answers the scheduled refreshes of
 * a stack whose credentials were never put in; its EMF metrics, placed on a timeline one schedule
 * interval apart, are evaluated against the synthesized template's alarms (test/kit/builders/alarm-evaluator.ts
 * follows CloudWatch's documented evaluation). Nothing pages; NotConfigured notifies once; after
 * `credentials set` it notifies OK, and still nothing pages.
 */

const FIVE_MINUTES = 300_000;
const T0 = Date.UTC(2026, 11, 1, 12, 0, 0);

const mintToken = () => bundled('MintToken');

let server: FakeTokenServer;
beforeAll(async () => {
  server = await FakeTokenServer.start(inject('trustedTls'));
});
afterAll(async () => {
  await server.stop();
});

/** One scheduled run (a fresh process: each run is its own invocation), its datapoints at `atMs`. */
async function scheduledRun(fixture: BrokerFixture, atMs: number) {
  const env = fixture.functionEnv(mintToken().environment, (s) => {
    s.upstream = { ...s.upstream, tokenUrl: server.url, requestTimeoutMs: 1_000 };
  });
  const outcome = await invokeBundled<{ outcome: string }>({
    bundle: mintToken().bundle,
    env,
    events: [{ action: 'refresh', requestedBy: 'schedule' }],
  });
  const datapoints: Datapoint[] = emfDatapoints(outcome.logRecords).map((point) => ({
    ...point,
    timestampMs: atMs,
  }));
  return { outcome, datapoints };
}

describe('first deploy: the alarms over an hour of scheduled refreshes without credentials', () => {
  it('nothing pages, NotConfigured notifies once; after `credentials set` it clears and still nothing pages', async () => {
    const { template } = synthBroker('first-deploy-alarms');
    const evaluator = new AlarmEvaluator(template.Resources, (v) =>
      String(resolveCfn(v, template.Resources)),
    );
    const fixture = await BrokerFixture.create(undefined);

    // An hour not configured: a run every 5 minutes, starting one interval after the deploy (T0).
    const datapoints: Datapoint[] = [];
    const answers: string[] = [];
    for (let run = 1; run <= 12; run += 1) {
      const { outcome, datapoints: points } = await scheduledRun(fixture, T0 + run * FIVE_MINUTES - 30_000);
      answers.push(outcome.results[0]?.ok ? outcome.results[0].value.outcome : 'error');
      datapoints.push(...points);
    }
    expect(answers).toEqual(Array(12).fill('not_configured'));

    // Then the operator puts the credentials in (the CLI mints at once) and the schedule goes on.
    const creds = makeCredentials();
    await fixture.putCredentials(creds);
    for (let run = 13; run <= 24; run += 1) {
      const { outcome, datapoints: points } = await scheduledRun(fixture, T0 + run * FIVE_MINUTES - 30_000);
      answers.push(outcome.results[0]?.ok ? outcome.results[0].value.outcome : 'error');
      datapoints.push(...points);
      expectNoSecretIn(outcome.logLines, [creds.client_secret, ...server.issuedTokens]);
    }
    expect(answers.slice(12)).toEqual(['minted', ...Array(11).fill('fresh')]);
    expect(server.requests).toHaveLength(1);

    const notifications = evaluator.run(datapoints, T0, T0 + 2 * 3_600_000);
    const minutes = (atMs: number) => Math.round((atMs - T0) / 60_000);
    const seen = notifications.map((n) => `${n.alarmName} → ${n.state} at +${minutes(n.atMs)} min`);

    // Nothing pages, at the deploy or after it.
    expect(seen.filter((n) => n.startsWith('[PAGE]') && n.includes('→ ALARM'))).toEqual([]);
    // The one first-deploy signal, then its all-clear once the credentials are in.
    const notConfigured = notifications.filter((n) => n.atMs > T0 && n.alarmName.endsWith(' NotConfigured'));
    expect(notConfigured.map((n) => n.state)).toEqual(['ALARM', 'OK'] satisfies AlarmState[]);
    expect(minutes(notConfigured[0]?.atMs ?? 0)).toBeLessThanOrEqual(5);
    expect(notifications.filter((n) => n.state === 'ALARM').map((n) => n.alarmName)).toEqual([
      notConfigured[0]?.alarmName,
    ]);
    // Every other notification is an OK of an alarm leaving INSUFFICIENT_DATA (its first evaluation,
    // or its first data, e.g. CredentialAge once there are credentials): CloudWatch runs OK actions
    // on that transition too. No alarm goes back and forth.
    const others = notifications.filter((n) => !n.alarmName.endsWith(' NotConfigured'));
    expect(others.filter((n) => !(n.from === 'INSUFFICIENT_DATA' && n.state === 'OK'))).toEqual([]);

    // Proxy mode's alarms (proxy.enabled is the default) are in this hour too: the two refusal counts
    // are evaluated and only ever say OK; the two rates are metric math, checked below.
    const proxyIds = ALARM_CATALOG.filter((s) => s.scope === 'proxy').map((s) => s.id);
    const isProxy = (name: string) => proxyIds.some((id) => name.endsWith(` ${id}`));
    expect(proxyIds).toHaveLength(4);
    expect(evaluator.evaluatedNames.filter(isProxy).map((n) => n.split(' ').at(-1))).toEqual(
      expect.arrayContaining(['QuotaReserveReached', 'QuotaShareExhausted']),
    );
    expect(evaluator.unevaluated.filter(isProxy).map((n) => n.split(' ').at(-1))).toEqual(
      expect.arrayContaining(['ThroughLineApiFailures', 'ThroughLineApiThrottled']),
    );
    const proxyNotifications = notifications.filter((n) => isProxy(n.alarmName));
    expect(proxyNotifications.map((n) => n.state)).toEqual(['OK', 'OK']);

    // The alarms the evaluator does not model (anomaly bands, math expressions) cannot alarm on no data.
    for (const name of evaluator.unevaluated) {
      const [, alarm] = Object.entries(template.Resources).find(
        ([, r]) =>
          resolveCfn((r.Properties as { AlarmName?: unknown } | undefined)?.AlarmName, template.Resources) ===
          name,
      ) as [string, { Properties: { TreatMissingData?: string } }];
      expect(['notBreaching', 'ignore', 'missing'], name).toContain(
        alarm.Properties.TreatMissingData ?? 'missing',
      );
    }
  });

  it('the same hour without the quiet-until-configured composite would page: the evaluator is not blind', async () => {
    const { template } = synthBroker('first-deploy-alarms-control');
    // Give RefreshSilent's signal alarm the composite's actions, as a plain alarm would have.
    const signal = Object.values(template.Resources).find(
      (r) =>
        r.Type === 'AWS::CloudWatch::Alarm' &&
        String(resolveCfn(r.Properties?.AlarmName, template.Resources)).endsWith('RefreshSilent (signal)'),
    );
    const composite = Object.values(template.Resources).find(
      (r) => r.Type === 'AWS::CloudWatch::CompositeAlarm',
    );
    expect(signal && composite).toBeTruthy();
    (signal?.Properties as Record<string, unknown>).AlarmActions = composite?.Properties?.AlarmActions;
    const evaluator = new AlarmEvaluator(template.Resources, (v) =>
      String(resolveCfn(v, template.Resources)),
    );
    const fixture = await BrokerFixture.create(undefined);
    const datapoints: Datapoint[] = [];
    for (let run = 1; run <= 3; run += 1) {
      datapoints.push(...(await scheduledRun(fixture, T0 + run * FIVE_MINUTES - 30_000)).datapoints);
    }

    const pages = evaluator
      .run(datapoints, T0, T0 + 20 * 60_000)
      .filter((n) => n.alarmName.startsWith('[PAGE]') && n.state === 'ALARM');

    expect(pages.map((n) => n.alarmName)).toEqual([expect.stringMatching(/RefreshSilent \(signal\)$/)]);
  });
});
