import { z } from 'zod';

/**
 * Per-stage configuration. Every field has a ThroughLine-targeted default, so a stage in cdk.json
 * only states what differs. Objects are strict: a misspelt key is an error, not a silent default.
 */

const seconds = (min: number, max: number) =>
  z
    .number({ error: 'must be a number of seconds' })
    .int({ error: 'must be a whole number of seconds' })
    .min(min, { error: `must be at least ${min} seconds` })
    .max(max, { error: `must be at most ${max} seconds` });

const millis = (min: number, max: number) =>
  z
    .number({ error: 'must be a number of milliseconds' })
    .int({ error: 'must be a whole number of milliseconds' })
    .min(min, { error: `must be at least ${min} ms` })
    .max(max, { error: `must be at most ${max} ms` });

export const upstreamSchema = z.strictObject({
  /** ThroughLine's OAuth 2.0 token endpoint. Must be https. */
  tokenUrl: z
    .url({ error: 'must be an absolute URL such as https://api.findahelpline.com/oauth/token' })
    .refine((u) => u.startsWith('https://'), {
      error:
        'must use https:// — the client secret travels in this request (ThroughLine: "Use HTTPS for all API calls")',
    })
    .default('https://api.findahelpline.com/oauth/token'),
  /** How the client authenticates at the token endpoint (RFC 6749 §2.3.1). */
  clientAuthentication: z
    .enum(['client_secret_post', 'client_secret_basic'], {
      error: 'must be "client_secret_post" (ThroughLine\'s documented method) or "client_secret_basic"',
    })
    .default('client_secret_post'),
  /** Optional OAuth scope; ThroughLine documents none. */
  scope: z
    .string()
    .regex(/^[\x21\x23-\x5b\x5d-\x7e]+( [\x21\x23-\x5b\x5d-\x7e]+)*$/, {
      error: 'must be space-separated scope tokens (RFC 6749 §3.3), or omitted',
    })
    .optional(),
  /** Timeout of one token request. */
  requestTimeoutMs: millis(500, 30_000).default(5_000),
  /** Total time one mint may spend on attempts and backoff together. */
  totalBudgetMs: millis(1_000, 120_000).default(20_000),
  /** Attempts per mint, the first included. */
  maxAttempts: z
    .number()
    .int()
    .min(1, { error: 'must be at least 1 (the first attempt)' })
    .max(10, { error: 'must be at most 10: more burns the daily quota' })
    .default(4),
  /** Full-jitter exponential backoff: base and cap of the delay between attempts. */
  backoffBaseMs: millis(10, 10_000).default(200),
  backoffCapMs: millis(100, 60_000).default(5_000),
});

export const tokenSchema = z.strictObject({
  /** Lifetime assumed when the response has no usable expires_in (ThroughLine does not document it). */
  defaultLifetimeSeconds: seconds(60, 86_400).default(3_600),
  /** expires_in above this is capped: a token claimed to live for years is treated as living this long. */
  maxLifetimeSeconds: seconds(60, 7 * 86_400).default(86_400),
  /** A token is fresh until this fraction of its lifetime has passed; then it is refreshed. */
  refreshAtFraction: z
    .number({ error: 'must be a number between 0 and 1' })
    .gt(0, { error: 'must be greater than 0' })
    .lt(1, { error: 'must be less than 1: refreshing at or after expiry means serving expired tokens' })
    .default(0.75),
  /** Least remaining lifetime a served token has unless the caller asks for more. */
  minTtlSeconds: seconds(0, 3_600).default(60),
  /** Most remaining lifetime a caller may demand with min_ttl. */
  maxMinTtlSeconds: seconds(1, 3_600).default(900),
});

export const refreshSchema = z.strictObject({
  /**
   * Minutes between runs of the scheduled refresh workflow. Each run mints only when the cached
   * token is past its refresh point, so a short rate costs Step Functions transitions, not
   * ThroughLine quota. Must leave at least one run inside every refresh window (see superRefine).
   */
  scheduleRateMinutes: z
    .number({ error: 'must be a number of minutes' })
    .int({ error: 'must be a whole number of minutes' })
    .min(1, { error: 'must be at least 1 minute (EventBridge Scheduler rate granularity)' })
    .max(1_440, { error: 'must be at most 1440 minutes (one day)' })
    .default(5),
  /** Attempts of the refresh step on transient errors (Step Functions Retry), the first included. */
  maxAttempts: z
    .number()
    .int()
    .min(1, { error: 'must be at least 1 (the first attempt)' })
    .max(10, { error: 'must be at most 10' })
    .default(4),
  /** First retry delay; it doubles per retry, capped by maxRetryDelaySeconds, with full jitter. */
  retryIntervalSeconds: seconds(1, 300).default(5),
  maxRetryDelaySeconds: seconds(1, 900).default(60),
});

export const stageSchema = z
  .strictObject({
    description: z.string().optional(),
    /** Optional pinned account/region; without them the stack is environment-agnostic. */
    account: z
      .string()
      .regex(/^\d{12}$/, { error: 'must be a 12-digit AWS account id' })
      .optional(),
    region: z
      .string()
      .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, { error: 'must be an AWS region such as eu-west-2' })
      .optional(),
    /** destroy: `cdk destroy` removes the secret, key and table. retain: they outlive the stack. */
    removalPolicy: z
      .enum(['retain', 'destroy'], { error: 'must be "retain" (production) or "destroy" (sandboxes)' })
      .default('retain'),
    logRetentionDays: z
      .union(
        [
          1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288,
          3653,
        ].map((d) => z.literal(d)),
        {
          error:
            'must be a CloudWatch Logs retention: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, … days',
        },
      )
      .default(90),
    upstream: upstreamSchema.default(upstreamSchema.parse({})),
    token: tokenSchema.default(tokenSchema.parse({})),
    refresh: refreshSchema.default(refreshSchema.parse({})),
  })
  .superRefine((stage, ctx) => {
    const { token, upstream, refresh } = stage;
    const headroom = Math.floor(token.defaultLifetimeSeconds * (1 - token.refreshAtFraction));
    if (token.minTtlSeconds >= headroom) {
      ctx.addIssue({
        code: 'custom',
        path: ['token', 'minTtlSeconds'],
        message: `must be below the ${headroom} s a token has left at its refresh point (defaultLifetimeSeconds × (1 − refreshAtFraction)); lower minTtlSeconds or refresh earlier`,
      });
    }
    if (token.maxMinTtlSeconds < token.minTtlSeconds) {
      ctx.addIssue({
        code: 'custom',
        path: ['token', 'maxMinTtlSeconds'],
        message: 'must be at least token.minTtlSeconds',
      });
    }
    if (token.maxLifetimeSeconds < token.defaultLifetimeSeconds) {
      ctx.addIssue({
        code: 'custom',
        path: ['token', 'maxLifetimeSeconds'],
        message: 'must be at least token.defaultLifetimeSeconds',
      });
    }
    if (upstream.backoffCapMs < upstream.backoffBaseMs) {
      ctx.addIssue({
        code: 'custom',
        path: ['upstream', 'backoffCapMs'],
        message: 'must be at least upstream.backoffBaseMs',
      });
    }
    // A token stops being fresh at its refresh point and stops being servable minTtlSeconds before
    // expiry; a scheduled run must fall between the two, or tokens expire unrefreshed between runs.
    const refreshWindow = headroom - token.minTtlSeconds;
    if (refresh.scheduleRateMinutes * 60 >= refreshWindow) {
      const fitting = Math.floor((refreshWindow - 1) / 60);
      ctx.addIssue({
        code: 'custom',
        path: ['refresh', 'scheduleRateMinutes'],
        message: `every ${refresh.scheduleRateMinutes} min (${refresh.scheduleRateMinutes * 60} s) is not more often than the ${Math.max(0, refreshWindow)} s between a token's refresh point and the moment it stops being servable (token.defaultLifetimeSeconds × (1 − token.refreshAtFraction) − token.minTtlSeconds), so a token could expire between two runs; ${fitting >= 1 ? `run at most every ${fitting} min` : 'lengthen the refresh window'} or lower token.refreshAtFraction`,
      });
    }
    if (refresh.maxRetryDelaySeconds < refresh.retryIntervalSeconds) {
      ctx.addIssue({
        code: 'custom',
        path: ['refresh', 'maxRetryDelaySeconds'],
        message: 'must be at least refresh.retryIntervalSeconds',
      });
    }
    if (upstream.totalBudgetMs < upstream.requestTimeoutMs) {
      ctx.addIssue({
        code: 'custom',
        path: ['upstream', 'totalBudgetMs'],
        message: 'must be at least upstream.requestTimeoutMs, or not even one attempt fits',
      });
    }
  });

export type StageConfig = z.output<typeof stageSchema>;
export type UpstreamConfig = StageConfig['upstream'];
export type TokenConfig = StageConfig['token'];
export type RefreshConfig = StageConfig['refresh'];
