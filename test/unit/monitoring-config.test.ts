import { describe, expect, it } from 'vitest';
import { ConfigError, loadStageConfig } from '../../lib/config/load-config';
import { stageSchema } from '../../lib/config/schema';

const load = (stage: unknown) => {
  const context: Record<string, unknown> = { stage: 'test', stages: { test: stage } };
  return loadStageConfig((key) => context[key]);
};

function problemsOf(stage: unknown): string[] {
  try {
    load(stage);
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  throw new Error('expected the configuration to be rejected');
}

describe('monitoring configuration', () => {
  it('has ThroughLine-targeted defaults when a stage says nothing', () => {
    const { monitoring } = stageSchema.parse({});
    expect(monitoring).toMatchObject({
      emailSubscriptions: [],
      dailyUpstreamRequestBudget: 1000,
      credentialMaxAgeDays: 90,
      thresholds: {
        credentialsRejectedPer5Minutes: 1,
        tokenExpiryWarningSeconds: 300,
        upstreamDailyBudgetFraction: 0.8,
      },
    });
    expect(monitoring.alarmTopicArn).toBeUndefined();
    expect(monitoring.thresholds.upstreamRequestsPerHour).toBeUndefined();
  });

  it('accepts an existing topic, subscriptions and a runbook URL', () => {
    const { config } = load({
      monitoring: {
        alarmTopicArn: 'arn:aws:sns:eu-west-2:123456789012:pager-duty',
        emailSubscriptions: ['oncall@example.org'],
        runbookBaseUrl: 'https://git.example.org/broker/docs/runbooks/',
        thresholds: { upstreamRequestsPerHour: 60 },
      },
    });
    expect(config.monitoring.alarmTopicArn).toBe('arn:aws:sns:eu-west-2:123456789012:pager-duty');
    expect(config.monitoring.thresholds.upstreamRequestsPerHour).toBe(60);
  });

  it('reports every problem at once, each naming the setting and what to do', () => {
    const problems = problemsOf({
      monitoring: {
        alarmTopicArn: 'arn:aws:sns:eu-west-2:123456789012:pager.fifo',
        emailSubscriptions: ['oncall@example.org', 'ONCALL@example.org', 'not-an-email'],
        runbookBaseUrl: 'http://example.org/runbooks',
        dailyUpstreamRequestBudget: 0,
        alarmTopic: 'typo',
        thresholds: { tokenExpiryWarningSeconds: 30, apiP99LatencyMs: 40_000 },
      },
    });
    const text = problems.join('\n');
    expect(text).toContain('stages.test.monitoring.alarmTopicArn: must be a standard topic');
    expect(text).toContain('stages.test.monitoring.emailSubscriptions.2: must be an email address');
    expect(text).toContain('stages.test.monitoring.emailSubscriptions: must not list an address twice');
    expect(text).toContain('stages.test.monitoring.runbookBaseUrl: must be an https:// URL ending in "/"');
    expect(text).toContain('stages.test.monitoring.dailyUpstreamRequestBudget: must be at least 10');
    expect(text).toContain('stages.test.monitoring: unknown key (alarmTopic)');
    expect(text).toContain('stages.test.monitoring.thresholds.apiP99LatencyMs: must be at most 29000 ms');
    expect(problems.length).toBeGreaterThanOrEqual(7);
  });

  it('rejects a topic ARN that is not one', () => {
    expect(problemsOf({ monitoring: { alarmTopicArn: 'arn:aws:sqs:eu-west-2:123456789012:q' } })).toEqual([
      'stages.test.monitoring.alarmTopicArn: must be an SNS topic ARN such as arn:aws:sns:eu-west-2:123456789012:on-call',
    ]);
  });

  it('keeps the token-expiry warning between the serving floor and the refresh point', () => {
    // Default token: 3600 s lifetime, refresh at 75 % → 900 s left at refresh; min TTL 60 s.
    expect(problemsOf({ monitoring: { thresholds: { tokenExpiryWarningSeconds: 900 } } })).toEqual([
      expect.stringMatching(
        /^stages\.test\.monitoring\.thresholds\.tokenExpiryWarningSeconds: must be below the 900 s .*every normal refresh pages/,
      ),
    ]);
    expect(problemsOf({ monitoring: { thresholds: { tokenExpiryWarningSeconds: 60 } } })).toEqual([
      expect.stringMatching(/tokenExpiryWarningSeconds: must be above token.minTtlSeconds \(60 s\)/),
    ]);
    expect(
      load({ monitoring: { thresholds: { tokenExpiryWarningSeconds: 899 } } }).config.monitoring.thresholds,
    ).toMatchObject({ tokenExpiryWarningSeconds: 899 });
  });
});
