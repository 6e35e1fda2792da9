import { describe, expect, it } from 'vitest';
import { ConfigError, loadStageConfig } from '../../lib/config/load-config';

const load = (context: Record<string, unknown>) => loadStageConfig((key) => context[key]);
const problemsOf = (context: Record<string, unknown>): string[] => {
  try {
    load(context);
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  throw new Error('expected a ConfigError');
};

describe('stage configuration', () => {
  it('an empty stage gets ThroughLine defaults', () => {
    const { stageName, config } = load({ stage: 'dev', stages: { dev: {} } });

    expect(stageName).toBe('dev');
    expect(config.upstream).toMatchObject({
      tokenUrl: 'https://api.findahelpline.com/oauth/token',
      clientAuthentication: 'client_secret_post',
    });
    expect(config.upstream.scope).toBeUndefined();
    expect(config.token).toEqual({
      defaultLifetimeSeconds: 3600,
      maxLifetimeSeconds: 86_400,
      refreshAtFraction: 0.75,
      minTtlSeconds: 60,
      maxMinTtlSeconds: 900,
    });
    expect(config.removalPolicy).toBe('retain');
  });

  it('accepts client_secret_basic and a scope', () => {
    const { config } = load({
      stage: 'prod',
      stages: {
        prod: { upstream: { clientAuthentication: 'client_secret_basic', scope: 'helplines:read' } },
      },
    });

    expect(config.upstream.clientAuthentication).toBe('client_secret_basic');
    expect(config.upstream.scope).toBe('helplines:read');
  });

  it('reports every field problem at once, each with its config path and what to do', () => {
    const problems = problemsOf({
      stage: 'dev',
      stages: {
        dev: {
          upstream: {
            tokenUrl: 'http://api.findahelpline.com/oauth/token',
            clientAuthentication: 'private_key_jwt',
            maxAttempts: 0,
            tokenUrll: 'x',
          },
          token: { refreshAtFraction: 1 },
          logRetentionDays: 4,
        },
      },
    });

    expect(problems).toHaveLength(6);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^stages\.dev\.upstream\.tokenUrl: must use https:\/\//),
        expect.stringMatching(/^stages\.dev\.upstream\.clientAuthentication: must be "client_secret_post"/),
        expect.stringMatching(/^stages\.dev\.upstream\.maxAttempts: must be at least 1/),
        expect.stringMatching(/^stages\.dev\.upstream: unknown key \(tokenUrll\)/),
        expect.stringMatching(/^stages\.dev\.token\.refreshAtFraction: must be less than 1/),
        expect.stringMatching(/^stages\.dev\.logRetentionDays: must be a CloudWatch Logs retention/),
      ]),
    );
  });

  it('rejects a refresh point that leaves less than min TTL before expiry', () => {
    const problems = problemsOf({
      stage: 'dev',
      stages: { dev: { token: { defaultLifetimeSeconds: 300, refreshAtFraction: 0.9, minTtlSeconds: 60 } } },
    });

    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^stages\.dev\.token\.minTtlSeconds: must be below the 30 s/),
      ]),
    );
  });

  it('reports cross-field problems together', () => {
    const problems = problemsOf({
      stage: 'dev',
      stages: {
        dev: {
          upstream: {
            requestTimeoutMs: 10_000,
            totalBudgetMs: 5_000,
            backoffBaseMs: 1_000,
            backoffCapMs: 500,
          },
          token: {
            defaultLifetimeSeconds: 7200,
            maxLifetimeSeconds: 3600,
            minTtlSeconds: 120,
            maxMinTtlSeconds: 60,
          },
        },
      },
    });

    expect(problems.map((p) => p.split(':')[0])).toEqual(
      expect.arrayContaining([
        'stages.dev.upstream.totalBudgetMs',
        'stages.dev.upstream.backoffCapMs',
        'stages.dev.token.maxLifetimeSeconds',
        'stages.dev.token.maxMinTtlSeconds',
      ]),
    );
  });

  it('names the known stages when the chosen one does not exist', () => {
    expect(problemsOf({ stage: 'qa', stages: { dev: {}, prod: {} } })).toEqual([
      'stages.qa: no such stage — known stages: dev, prod; add it to "stages" in cdk.json',
    ]);
  });

  it('rejects a malformed stage name and a missing stages map together', () => {
    const problems = problemsOf({ stage: 'Prod Stage' });

    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/^stage: "Prod Stage" is not a stage name/);
    expect(problems[1]).toMatch(/^stages: missing/);
  });

  it('the ConfigError message lists every problem on its own line', () => {
    try {
      load({ stage: 'dev', stages: { dev: { removalPolicy: 'keep', account: '12' } } });
      expect.unreachable();
    } catch (error) {
      expect((error as Error).message).toMatch(
        /^Invalid broker configuration \(2 problems\):\n {2}- stages\.dev\.account/,
      );
    }
  });
});
