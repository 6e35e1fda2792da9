import type { CfnResources } from './cfn-resolve';

/**
 * A small evaluator of the synthesized CloudWatch alarms over a timeline of datapoints, following
 * CloudWatch's documented rules — enough to ask "who is notified?" of a scenario, not a replica:
 * - metric alarms ("Using Amazon CloudWatch alarms", "Evaluating an alarm"): the last
 *   EvaluationPeriods periods are evaluated; the alarm is ALARM when at least DatapointsToAlarm of
 *   them breach, else OK. Missing periods follow TreatMissingData ("Configuring how CloudWatch alarms
 *   treat missing data"): breaching, notBreaching, ignore (keep the state) or missing (all missing →
 *   INSUFFICIENT_DATA). Periods here slide with the evaluation time (CloudWatch aligns them; the
 *   scenarios below put datapoints well inside periods, so the answer is the same).
 * - actions run on state transitions only, INSUFFICIENT_DATA → OK included; a new alarm starts in
 *   INSUFFICIENT_DATA.
 * - composite alarms (PutCompositeAlarm, CloudWatch API Reference): the rule `ALARM(x)` over one
 *   alarm; with an ActionsSuppressor, its actions (of any state) are suppressed while the suppressor
 *   is in ALARM; on
 *   entering ALARM the composite waits up to ActionsSuppressorWaitPeriod for the suppressor to go into
 *   ALARM before it acts; after the suppressor leaves ALARM, up to ActionsSuppressorExtensionPeriod.
 * Only single-MetricStat alarms with a plain threshold are evaluated; any other alarm is reported in
 * `unevaluated`, so a test can say what it does about them.
 */

export type AlarmState = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';

export interface Datapoint {
  readonly name: string;
  readonly dimensions: Readonly<Record<string, string>>;
  readonly value: number;
  readonly timestampMs: number;
}

export interface Notification {
  readonly alarmName: string;
  readonly state: AlarmState;
  readonly from: AlarmState;
  readonly atMs: number;
}

interface MetricAlarmSpec {
  readonly logicalId: string;
  readonly name: string;
  readonly metric: { name: string; dimensions: Record<string, string>; namespace: string };
  readonly stat: string;
  readonly periodMs: number;
  readonly evaluationPeriods: number;
  readonly datapointsToAlarm: number;
  readonly comparison: string;
  readonly threshold: number;
  readonly treatMissingData: string;
  readonly notifies: boolean;
}

interface CompositeSpec {
  readonly logicalId: string;
  readonly name: string;
  readonly watched: string;
  readonly suppressor?: string;
  readonly waitMs: number;
  readonly extensionMs: number;
  readonly notifies: boolean;
}

const aggregate = (stat: string, values: number[]): number => {
  switch (stat) {
    case 'Sum':
      return values.reduce((a, b) => a + b, 0);
    case 'Minimum':
      return Math.min(...values);
    case 'Maximum':
      return Math.max(...values);
    case 'SampleCount':
      return values.length;
    case 'Average':
      return values.reduce((a, b) => a + b, 0) / values.length;
    default:
      throw new Error(`alarm-evaluator: statistic ${stat} is not modelled`);
  }
};

const breaches = (comparison: string, value: number, threshold: number): boolean => {
  switch (comparison) {
    case 'GreaterThanOrEqualToThreshold':
      return value >= threshold;
    case 'GreaterThanThreshold':
      return value > threshold;
    case 'LessThanThreshold':
      return value < threshold;
    case 'LessThanOrEqualToThreshold':
      return value <= threshold;
    default:
      throw new Error(`alarm-evaluator: comparison ${comparison} is not modelled`);
  }
};

const logicalIdsIn = (value: unknown): string[] =>
  [...JSON.stringify(value).matchAll(/"Fn::GetAtt":\["([A-Za-z0-9]+)","Arn"\]/g)].map((m) => m[1] as string);

export class AlarmEvaluator {
  readonly unevaluated: string[] = [];
  private readonly metricAlarms: MetricAlarmSpec[] = [];
  private readonly composites: CompositeSpec[] = [];

  /** `resolveName` turns a (possibly Fn::Join'd) AlarmName into its string. */
  constructor(resources: CfnResources, resolveName: (value: unknown) => string) {
    for (const [logicalId, resource] of Object.entries(resources)) {
      const p = (resource.Properties ?? {}) as Record<string, unknown>;
      const notifies = Array.isArray(p.AlarmActions) && p.AlarmActions.length > 0;
      if (resource.Type === 'AWS::CloudWatch::Alarm') {
        const name = resolveName(p.AlarmName);
        const queries = (p.Metrics ?? []) as { MetricStat?: Record<string, unknown> }[];
        const stat = queries.length === 1 ? queries[0]?.MetricStat : undefined;
        if (!stat || p.ThresholdMetricId !== undefined) {
          this.unevaluated.push(name);
          continue;
        }
        const metric = stat.Metric as {
          MetricName: string;
          Namespace: string;
          Dimensions?: { Name: string; Value: unknown }[];
        };
        this.metricAlarms.push({
          logicalId,
          name,
          metric: {
            name: metric.MetricName,
            namespace: metric.Namespace,
            dimensions: Object.fromEntries(
              (metric.Dimensions ?? []).map((d) => [d.Name, resolveName(d.Value)]),
            ),
          },
          stat: stat.Stat as string,
          periodMs: (stat.Period as number) * 1000,
          evaluationPeriods: p.EvaluationPeriods as number,
          datapointsToAlarm: (p.DatapointsToAlarm as number | undefined) ?? (p.EvaluationPeriods as number),
          comparison: p.ComparisonOperator as string,
          threshold: p.Threshold as number,
          treatMissingData: (p.TreatMissingData as string | undefined) ?? 'missing',
          notifies,
        });
      } else if (resource.Type === 'AWS::CloudWatch::CompositeAlarm') {
        const watched = logicalIdsIn(p.AlarmRule);
        const rule = JSON.stringify(p.AlarmRule);
        if (watched.length !== 1 || !rule.includes('ALARM(')) {
          this.unevaluated.push(resolveName(p.AlarmName));
          continue;
        }
        const [suppressor] = p.ActionsSuppressor === undefined ? [] : logicalIdsIn(p.ActionsSuppressor);
        this.composites.push({
          logicalId,
          name: resolveName(p.AlarmName),
          watched: watched[0] as string,
          ...(suppressor ? { suppressor } : {}),
          waitMs: ((p.ActionsSuppressorWaitPeriod as number | undefined) ?? 0) * 1000,
          extensionMs: ((p.ActionsSuppressorExtensionPeriod as number | undefined) ?? 0) * 1000,
          notifies,
        });
      }
    }
  }

  /** The metric alarms it evaluates, by name. */
  get evaluatedNames(): string[] {
    return [...this.metricAlarms.map((a) => a.name), ...this.composites.map((c) => c.name)];
  }

  /**
   * Runs the timeline from `startMs` (the alarms are created then) to `endMs`, evaluating every
   * `stepMs`, and returns the notifications sent (alarms with actions; suppressed ones left out).
   */
  run(datapoints: readonly Datapoint[], startMs: number, endMs: number, stepMs = 60_000): Notification[] {
    const states = new Map<string, AlarmState>();
    const notifications: Notification[] = [];
    const pending = new Map<string, { state: AlarmState; from: AlarmState; dueMs: number }>();
    const suppressorLeftAt = new Map<string, number>();
    for (let now = startMs; now <= endMs; now += stepMs) {
      for (const alarm of this.metricAlarms) {
        const previous = states.get(alarm.logicalId) ?? 'INSUFFICIENT_DATA';
        const next = this.evaluate(alarm, datapoints, now, previous);
        if (previous === 'ALARM' && next !== 'ALARM') suppressorLeftAt.set(alarm.logicalId, now);
        states.set(alarm.logicalId, next);
        if (next !== previous && alarm.notifies)
          notifications.push({ alarmName: alarm.name, state: next, from: previous, atMs: now });
      }
      for (const composite of this.composites) {
        const previous = states.get(composite.logicalId) ?? 'INSUFFICIENT_DATA';
        const watched = states.get(composite.watched) ?? 'INSUFFICIENT_DATA';
        const next: AlarmState = watched === 'ALARM' ? 'ALARM' : watched === 'OK' ? 'OK' : previous;
        states.set(composite.logicalId, next);
        if (next !== previous) {
          pending.delete(composite.logicalId);
          if (composite.notifies) {
            const wait = composite.suppressor && next === 'ALARM' ? composite.waitMs : 0;
            pending.set(composite.logicalId, { state: next, from: previous, dueMs: now + wait });
          }
        }
        const due = pending.get(composite.logicalId);
        if (!due) continue;
        const suppressorState = composite.suppressor ? states.get(composite.suppressor) : undefined;
        if (suppressorState === 'ALARM') {
          pending.delete(composite.logicalId); // suppressed
          continue;
        }
        const leftAt = composite.suppressor ? suppressorLeftAt.get(composite.suppressor) : undefined;
        const extensionEnds = leftAt !== undefined ? leftAt + composite.extensionMs : 0;
        if (now >= due.dueMs && now >= extensionEnds) {
          notifications.push({ alarmName: composite.name, state: due.state, from: due.from, atMs: now });
          pending.delete(composite.logicalId);
        }
      }
    }
    return notifications;
  }

  private evaluate(
    alarm: MetricAlarmSpec,
    datapoints: readonly Datapoint[],
    nowMs: number,
    previous: AlarmState,
  ): AlarmState {
    const matching = datapoints.filter(
      (d) =>
        d.name === alarm.metric.name &&
        Object.entries(alarm.metric.dimensions).every(([k, v]) => d.dimensions[k] === v) &&
        Object.keys(d.dimensions).length === Object.keys(alarm.metric.dimensions).length,
    );
    let breaching = 0;
    let missing = 0;
    for (let i = 0; i < alarm.evaluationPeriods; i += 1) {
      const endMs = nowMs - i * alarm.periodMs;
      const values = matching
        .filter((d) => d.timestampMs > endMs - alarm.periodMs && d.timestampMs <= endMs)
        .map((d) => d.value);
      if (values.length === 0) {
        missing += 1;
        if (alarm.treatMissingData === 'breaching') breaching += 1;
        continue;
      }
      if (breaches(alarm.comparison, aggregate(alarm.stat, values), alarm.threshold)) breaching += 1;
    }
    if (missing === alarm.evaluationPeriods) {
      if (alarm.treatMissingData === 'ignore') return previous;
      if (alarm.treatMissingData === 'missing') return 'INSUFFICIENT_DATA';
    }
    return breaching >= alarm.datapointsToAlarm ? 'ALARM' : 'OK';
  }
}
