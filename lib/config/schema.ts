import { z } from 'zod';
import { DEFAULT_PROXY_ROUTES, DEFAULT_UPSTREAM_BASE_URL, PROXY_METHODS } from '../../contract/proxy-api';

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

/**
 * Rules across fields run only on a section (or stage) whose fields are all valid, so a rule never
 * reports a consequence of a value already reported as wrong (zod 4 runs object refinements despite
 * non-aborting field issues unless told otherwise: `when`).
 */
const ONLY_WHEN_FIELDS_VALID = {
  when: (payload: { issues: readonly unknown[] }) => payload.issues.length === 0,
};

/** Adds "must be at least <other>" at `path` when `value` is below `minimum` (a cap below its base, …). */
function atLeast(
  ctx: z.RefinementCtx,
  value: number,
  minimum: number,
  path: string[],
  minimumName: string,
): void {
  if (value < minimum) ctx.addIssue({ code: 'custom', path, message: `must be at least ${minimumName}` });
}

/**
 * Seconds a token of the default lifetime has left at its refresh point: the same arithmetic as the
 * runtime's refreshAtFor(), so synth and runtime agree to the second.
 */
export function refreshHeadroomSeconds(token: {
  defaultLifetimeSeconds: number;
  refreshAtFraction: number;
}): number {
  return token.defaultLifetimeSeconds - Math.floor(token.defaultLifetimeSeconds * token.refreshAtFraction);
}

export const upstreamSchema = z
  .strictObject({
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
  })
  .superRefine((upstream, ctx) => {
    atLeast(ctx, upstream.backoffCapMs, upstream.backoffBaseMs, ['backoffCapMs'], 'upstream.backoffBaseMs');
    if (upstream.totalBudgetMs < upstream.requestTimeoutMs) {
      ctx.addIssue({
        code: 'custom',
        path: ['totalBudgetMs'],
        message: 'must be at least upstream.requestTimeoutMs, or not even one attempt fits',
      });
    }
  }, ONLY_WHEN_FIELDS_VALID);

/**
 * The fleet-wide upstream gate (lambda/upstream/): when ThroughLine may be asked next, for every
 * caller. ThroughLine's quota (~1,000 calls a day per customer, across all its applications) is the
 * scarce resource; these bound what an outage, a throttle or a misbehaving caller can spend.
 */
export const gateSchema = z
  .strictObject({
    /** First wait after a failed token request; it doubles per consecutive failure (equal jitter) up to the cap. */
    backoffBaseSeconds: seconds(1, 300).default(5),
    /** Longest wait between probes while ThroughLine keeps failing: at the cap (equal jitter: 50–100 % of it), 24 requests an hour at most. */
    backoffCapSeconds: seconds(10, 3_600).default(300),
    /** Wait after invalid_client before the same credentials are tried again (new credentials are tried at once). */
    credentialsRejectedWaitSeconds: seconds(60, 86_400).default(900),
    /** A Retry-After above this is honoured only this long. */
    maxRetryAfterSeconds: seconds(60, 7 * 86_400).default(86_400),
    /** Hard limit of token requests to ThroughLine in any rolling 24 hours (normal use is ~30). At it, nothing calls ThroughLine. */
    dailyRequestBudget: z
      .number({ error: 'must be a whole number' })
      .int({ error: 'must be a whole number' })
      .min(5, { error: 'must be at least 5' })
      .max(1_000, { error: "must be at most 1000: ThroughLine's whole daily allowance per customer" })
      .default(200),
  })
  .superRefine((gate, ctx) => {
    atLeast(
      ctx,
      gate.backoffCapSeconds,
      gate.backoffBaseSeconds,
      ['backoffCapSeconds'],
      'gate.backoffBaseSeconds',
    );
  }, ONLY_WHEN_FIELDS_VALID);

/** mint-token's deployment. */
export const mintTokenSchema = z.strictObject({
  /**
   * Optional reserved concurrency. Not needed for correctness: the upstream gate's lease serialises
   * mints. Reserving needs an account whose concurrency quota leaves 100 unreserved (new accounts
   * often have a quota of 10, where any reservation fails the deploy).
   */
  reservedConcurrency: z
    .number({ error: 'must be a whole number' })
    .int({ error: 'must be a whole number' })
    .min(1, { error: 'must be at least 1' })
    .max(100, { error: 'must be at most 100' })
    .optional(),
});

export const tokenSchema = z
  .strictObject({
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
  })
  .superRefine((token, ctx) => {
    const headroom = refreshHeadroomSeconds(token);
    if (token.minTtlSeconds >= headroom) {
      ctx.addIssue({
        code: 'custom',
        path: ['minTtlSeconds'],
        message: `must be below the ${headroom} s a token has left at its refresh point (defaultLifetimeSeconds × (1 − refreshAtFraction)); lower minTtlSeconds or refresh earlier`,
      });
    }
    atLeast(ctx, token.maxMinTtlSeconds, token.minTtlSeconds, ['maxMinTtlSeconds'], 'token.minTtlSeconds');
    atLeast(
      ctx,
      token.maxLifetimeSeconds,
      token.defaultLifetimeSeconds,
      ['maxLifetimeSeconds'],
      'token.defaultLifetimeSeconds',
    );
  }, ONLY_WHEN_FIELDS_VALID);

const count = (min: number, max: number) =>
  z
    .number({ error: 'must be a whole number' })
    .int({ error: 'must be a whole number' })
    .min(min, { error: `must be at least ${min}` })
    .max(max, { error: `must be at most ${max}` });

/** A percentage above 0, at most 100. */
const percent = () =>
  z
    .number({ error: 'must be a percentage' })
    .gt(0, { error: 'must be above 0' })
    .max(100, { error: 'must be at most 100' });

/**
 * Alarm thresholds. Periods are part of the name so a number is never ambiguous; the alarm
 * catalogue (lib/constructs/monitoring/alarm-catalog.ts) says how each one is used.
 */
export const monitoringThresholdsSchema = z.strictObject({
  /** invalid_client answers in 5 minutes. One already proves the credentials are revoked or wrong. */
  credentialsRejectedPer5Minutes: count(1, 100).default(1),
  /** Failed mints (all reasons) in 15 minutes. */
  mintFailuresPer15Minutes: count(1, 1_000).default(3),
  /** Fraction of monitoring.dailyUpstreamRequestBudget spent in 24 hours that pages on-call. */
  upstreamDailyBudgetFraction: z
    .number({ error: 'must be a number between 0 and 1' })
    .gt(0, { error: 'must be greater than 0' })
    .max(1, { error: 'must be at most 1 (the whole budget)' })
    .default(0.8),
  /** Token requests to ThroughLine in one hour that raise a ticket. Default: the daily budget ÷ 24. */
  upstreamRequestsPerHour: count(1, 1_000_000).optional(),
  /** Seconds the upstream gate has been closed by consecutive failures before on-call is paged. */
  upstreamGateClosedSeconds: seconds(60, 86_400).default(900),
  /** Seconds to expiry of the cached token below which on-call is paged (refresh is not keeping up). */
  tokenExpiryWarningSeconds: seconds(10, 3_600).default(300),
  /** Width of the anomaly-detection band of the token request volume, in standard deviations. */
  requestAnomalyStdDevs: z
    .number({ error: 'must be a number of standard deviations' })
    .gt(0, { error: 'must be greater than 0' })
    .max(10, { error: 'must be at most 10' })
    .default(3),
  /** 403 answers of the token API in 5 minutes (unauthorised callers probing). */
  forbiddenRequestsPer5Minutes: count(1, 1_000_000).default(20),
  /** Distinct authenticated principals refused by the API in 5 minutes (callers not on the allow-list). */
  refusedCallersPer5Minutes: count(1, 1_000).default(1),
  /** The top caller's requests as a multiple of the average of the other callers. */
  callerDominanceFactor: z
    .number({ error: 'must be a number' })
    .min(2, { error: 'must be at least 2' })
    .max(10_000, { error: 'must be at most 10000' })
    .default(10),
  /** The top caller must make at least this many requests in 5 minutes before dominance counts. */
  callerDominanceMinRequests: count(1, 1_000_000).default(100),
  /** 5xx answers of the token API in 5 minutes. */
  api5xxPer5Minutes: count(1, 1_000_000).default(3),
  /** p99 latency of the token API, sustained for 15 minutes. */
  apiP99LatencyMs: millis(50, 29_000).default(3_000),
  /** Failed, timed-out or aborted refresh workflow executions in 5 minutes. */
  refreshFailuresPer5Minutes: count(1, 1_000).default(1),
  /** Unhandled errors of one broker function in 5 minutes. */
  lambdaErrorsPer5Minutes: count(1, 1_000_000).default(3),
  /** Throttled invocations of one broker function in 5 minutes (mint-token is throttled by design under bursts). */
  lambdaThrottlesPer5Minutes: count(1, 1_000_000).default(10),
  /** Proxy mode: calls refused for the caller's daily share in 5 minutes (QuotaShareExhausted, a ticket). */
  quotaShareRefusalsPer5Minutes: count(1, 1_000_000).default(1),
  /** Proxy mode: percentage of calls to ThroughLine's API in 15 minutes that failed (5xx, unreachable, timed out). */
  upstreamApiFailurePercentPer15Minutes: percent().default(25),
  /** Proxy mode: percentage of calls to ThroughLine's API in 15 minutes that ThroughLine answered 429. */
  upstreamApiThrottledPercentPer15Minutes: percent().default(10),
  /**
   * Proxy mode: calls to ThroughLine's API in 15 minutes below which the two rates above count as 0
   * (one failure among two calls is not a failure rate). ~1,000 calls a day is ~10 per 15 minutes.
   */
  upstreamApiMinCallsPer15Minutes: count(1, 100_000).default(5),
});

const snsTopicArn = z
  .string()
  .regex(/^arn:aws[a-z-]*:sns:[a-z]{2}(-[a-z]+)+-\d:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$/, {
    error: 'must be an SNS topic ARN such as arn:aws:sns:eu-west-2:123456789012:on-call',
  })
  .refine((arn) => !arn.endsWith('.fifo'), {
    error: 'must be a standard topic: CloudWatch alarms cannot publish to FIFO topics',
  });

export const monitoringSchema = z.strictObject({
  /**
   * An existing SNS topic (e.g. one wired to a paging service) for alarms and security events.
   * Without it the stack creates its own KMS-encrypted on-call topic.
   */
  alarmTopicArn: snsTopicArn.optional(),
  /**
   * An existing SNS topic for TICKET-level alarms and events (next working day), apart from the PAGE
   * ones. Without it: alarmTopicArn when that is set, else the stack's own ticket topic.
   */
  ticketTopicArn: snsTopicArn.optional(),
  /** Email addresses subscribed to the on-call topics, PAGE and TICKET (each confirms by email once per topic). */
  emailSubscriptions: z
    .array(z.email({ error: 'must be an email address' }), { error: 'must be a list of email addresses' })
    .max(20, { error: 'must list at most 20 addresses: use a distribution list or alarmTopicArn' })
    .refine((emails) => new Set(emails.map((e) => e.toLowerCase())).size === emails.length, {
      error: 'must not list an address twice',
    })
    .default([]),
  /** Where the runbooks are browsable (e.g. your repository's docs/runbooks/ URL); alarm descriptions link there. */
  runbookBaseUrl: z
    .url({
      error: 'must be an absolute URL such as https://github.com/acme/token-broker/blob/main/docs/runbooks/',
    })
    .refine((u) => u.startsWith('https://') && u.endsWith('/'), {
      error: 'must be an https:// URL ending in "/"',
    })
    .optional(),
  /** ThroughLine's call budget per customer and day (about 1,000; whether token calls count is undocumented). */
  dailyUpstreamRequestBudget: count(10, 10_000_000).default(1_000),
  /** Credentials older than this (days since the current version was stored) raise a ticket to rotate them. */
  credentialMaxAgeDays: count(1, 3_650).default(90),
  thresholds: monitoringThresholdsSchema.prefault({}),
  /**
   * Create a minimal CloudTrail trail (management events, this region, encrypted bucket) for this
   * broker. The secret-audit rules see CloudTrail events only where a trail with logging on exists;
   * leave it off when the account or organisation already has one (`broker doctor` checks).
   */
  createManagementTrail: z.boolean({ error: 'must be true or false' }).default(false),
});

const accountId = z
  .string()
  .regex(/^\d{12}$/, { error: 'must be a 12-digit AWS account id such as 123456789012' });

const ASSUMED_ROLE_ARN = /^arn:aws[a-z-]*:sts::\d{12}:assumed-role\//;

/** IAM role or user ARN: the principals a resource policy can name (not sessions, not wildcards). */
const principalArn = z
  .string()
  .refine((arn) => !ASSUMED_ROLE_ARN.test(arn), {
    error: 'is an assumed-role session ARN; list the role itself instead: arn:aws:iam::<account>:role/<name>',
  })
  // An assumed-role ARN is reported once, by the check above.
  .refine(
    (arn) =>
      ASSUMED_ROLE_ARN.test(arn) || /^arn:aws[a-z-]*:iam::\d{12}:(role|user)\/[\w+=,.@/-]{1,512}$/.test(arn),
    {
      error:
        'must be an IAM role or user ARN such as arn:aws:iam::123456789012:role/my-service (no wildcards)',
    },
  );

export const apiSchema = z
  .strictObject({
    /**
     * REGIONAL: reachable from anywhere, by IAM-authenticated principals the resource policy allows.
     * PRIVATE: reachable only through the listed interface VPC endpoints (execute-api).
     */
    endpointType: z
      .enum(['REGIONAL', 'PRIVATE'], { error: 'must be "REGIONAL" (default) or "PRIVATE"' })
      .default('REGIONAL'),
    /** Interface VPC endpoints (com.amazonaws.<region>.execute-api) a PRIVATE API accepts calls through. */
    vpcEndpointIds: z
      .array(
        z.string().regex(/^vpce-[0-9a-f]{8,17}$/, {
          error: 'must be a VPC endpoint id such as vpce-0123456789abcdef0',
        }),
      )
      .default([]),
    /**
     * Principals of the deploying account may call the API if they also hold an IAM policy allowing
     * execute-api:Invoke on it (the resource policy delegates to the account; nothing is open by itself).
     */
    allowDeployingAccount: z.boolean({ error: 'must be true or false' }).default(true),
    /** IAM roles/users (any account) the resource policy allows by name. Cross-account ones also need an IAM grant at home. */
    allowedPrincipalArns: z.array(principalArn).default([]),
    /** Other accounts whose principals may call the API when their own IAM policies allow it. */
    allowedAccountIds: z.array(accountId).default([]),
    /** AWS Organizations ids (o-…) whose accounts' principals may call the API. */
    allowedOrganizationIds: z
      .array(
        z
          .string()
          .regex(/^o-[a-z0-9]{10,32}$/, { error: 'must be an AWS Organizations id such as o-a1b2c3d4e5' }),
      )
      .default([]),
    /**
     * API Gateway writes REST API logs through one role per account and region (AWS::ApiGateway::Account,
     * "CloudWatch log role ARN" in the API Gateway settings). false (default): the account already has one
     * — check with `aws apigateway get-account` (a `cloudwatchRoleArn` in the answer) or
     * `npm run broker -- preflight`; without it the stage's logging setting fails to deploy. true: this
     * stack creates the role and registers it, overwriting whatever was registered; both are kept when the
     * stack is deleted (other APIs of the account may log through them) — delete them by hand.
     */
    createAccountLoggingRole: z.boolean({ error: 'must be true or false' }).default(false),
    /** Optional AWS WAF web ACL (regional) to associate with the API stage. */
    webAclArn: z
      .string()
      .regex(/^arn:aws[a-z-]*:wafv2:[a-z0-9-]+:\d{12}:regional\/webacl\/[\w-]+\/[\w-]+$/, {
        error:
          'must be a regional WAFv2 web ACL ARN (arn:aws:wafv2:<region>:<account>:regional/webacl/<name>/<id>)',
      })
      .optional(),
    /** Stage throttling: steady requests per second and burst, across all callers. */
    throttlingRateLimit: z
      .number({ error: 'must be a number of requests per second' })
      .min(1, { error: 'must be at least 1 request per second' })
      .max(10_000, { error: 'must be at most 10000 requests per second' })
      .default(20),
    throttlingBurstLimit: z
      .number({ error: 'must be a whole number of requests' })
      .int({ error: 'must be a whole number of requests' })
      .min(1, { error: 'must be at least 1' })
      .max(5_000, { error: 'must be at most 5000' })
      .default(40),
    /**
     * How long a serve-token instance may answer from its in-memory copy before re-reading the shared
     * cache: the bound on how long a refresh, rotation or flush takes to reach every instance.
     */
    l1MaxAgeSeconds: seconds(1, 300).default(30),
    /**
     * Time one token request may spend (cache reads, waiting for a mint): the longest a caller waits
     * for an answer, outages included (a 503 with Retry-After beats a long wait). Below API Gateway's 29 s limit.
     */
    requestBudgetMs: millis(1_000, 25_000).default(4_000),
    /** Retry-After of a 503 caused by a transient failure (upstream down, mint throttled past the budget). */
    retryAfterSeconds: seconds(1, 300).default(5),
    /** Backoff (equal jitter) between re-reads of the cache while another instance's mint is in progress. */
    mintThrottleBackoffBaseMs: millis(10, 5_000).default(100),
    mintThrottleBackoffCapMs: millis(10, 10_000).default(1_000),
  })
  .superRefine((api, ctx) => {
    if (api.endpointType === 'PRIVATE' && api.vpcEndpointIds.length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['vpcEndpointIds'],
        message:
          'a PRIVATE API needs at least one interface VPC endpoint (execute-api) id, e.g. ["vpce-0123456789abcdef0"], or set endpointType "REGIONAL"',
      });
    }
    if (api.endpointType === 'REGIONAL' && api.vpcEndpointIds.length > 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['vpcEndpointIds'],
        message:
          'VPC endpoint ids only apply to a PRIVATE API: set api.endpointType to "PRIVATE" or remove them',
      });
    }
    if (
      !api.allowDeployingAccount &&
      api.allowedPrincipalArns.length + api.allowedAccountIds.length + api.allowedOrganizationIds.length === 0
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['allowDeployingAccount'],
        message:
          'with allowDeployingAccount false nobody could call the API: list allowedPrincipalArns, allowedAccountIds or allowedOrganizationIds, or set it to true',
      });
    }
    for (const [key, list] of [
      ['allowedPrincipalArns', api.allowedPrincipalArns],
      ['allowedAccountIds', api.allowedAccountIds],
      ['allowedOrganizationIds', api.allowedOrganizationIds],
      ['vpcEndpointIds', api.vpcEndpointIds],
    ] as const) {
      const duplicates = list.filter((v, i) => list.indexOf(v) !== i);
      if (duplicates.length > 0) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: `lists ${[...new Set(duplicates)].join(', ')} more than once; list each once`,
        });
      }
    }
    atLeast(
      ctx,
      api.throttlingBurstLimit,
      api.throttlingRateLimit,
      ['throttlingBurstLimit'],
      'api.throttlingRateLimit',
    );
    atLeast(
      ctx,
      api.mintThrottleBackoffCapMs,
      api.mintThrottleBackoffBaseMs,
      ['mintThrottleBackoffCapMs'],
      'api.mintThrottleBackoffBaseMs',
    );
  }, ONLY_WHEN_FIELDS_VALID);

const proxyRouteSchema = z.strictObject({
  /** An absolute ThroughLine path of plain segments, e.g. /v2/helplines. */
  prefix: z.string().regex(/^(\/[A-Za-z0-9_-]{1,64}){1,8}$/, {
    error: 'must be an absolute path of plain segments (letters, digits, - and _) such as /v2/helplines',
  }),
  methods: z
    .array(z.enum(PROXY_METHODS, { error: 'must be "GET" or "POST"' }))
    .min(1, { error: 'must name at least one method' }),
  /** Whether paths below the prefix (e.g. /v2/helplines/<id>) are forwarded too. */
  subpaths: z.boolean().optional(),
});

/** Proxy mode (contract/proxy-api.ts): callers reach ThroughLine's API through the broker. */
export const proxySchema = z
  .strictObject({
    /** Adds GET|POST /throughline/{path+} to the token API and the proxy-throughline function. */
    enabled: z.boolean({ error: 'must be true or false' }).default(true),
    /** ThroughLine's API origin. Must be https. */
    upstreamBaseUrl: z
      .url({ error: 'must be an absolute URL such as https://api.throughlinecare.com' })
      .refine((u) => u.startsWith('https://'), {
        error:
          'must use https:// — the access token travels with every call (ThroughLine: "Use HTTPS for all API calls")',
      })
      .default(DEFAULT_UPSTREAM_BASE_URL),
    /** The ThroughLine paths forwarded; nothing else is. Defaults to the v2 helpline endpoints. */
    routes: z
      .array(proxyRouteSchema)
      .min(1, { error: 'must list at least one route, or set proxy.enabled to false' })
      .default(DEFAULT_PROXY_ROUTES.map((r) => ({ ...r, methods: [...r.methods] }))),
    /** Time one proxied call may take in all (token, ledger, rate slot, ThroughLine, one retry after a 401). */
    requestBudgetMs: millis(1_000, 25_000).default(10_000),
    /** Timeout of one request to ThroughLine's API. */
    upstreamTimeoutMs: millis(500, 20_000).default(4_000),
    /**
     * Fleet-wide calls to ThroughLine's API per one-second bucket. ThroughLine allows 30 per second.
     * Calls are counted by the second they are sent in and may arrive up to a moment later, so a
     * one-second window at ThroughLine can hold calls of three buckets: the default 10 keeps every
     * window at or below 30 while no call takes a second longer than another to arrive.
     */
    maxRequestsPerSecond: z
      .number({ error: 'must be a number of calls per second' })
      .int({ error: 'must be a whole number' })
      .min(1, { error: 'must be at least 1' })
      .max(30, { error: "must be at most 30, ThroughLine's own limit" })
      .default(10),
    /** ThroughLine's daily quota for the whole customer (all its applications), in a rolling 24 hours. */
    dailyQuotaCalls: count(1, 1_000_000).default(1_000),
    /** At this percentage of the daily quota only cached answers are served and on-call is paged. */
    reservePercent: z
      .number({ error: 'must be a percentage' })
      .gt(0, { error: 'must be above 0' })
      .max(100, { error: 'must be at most 100' })
      .default(95),
    /**
     * The shared response cache of GET answers, OFF by default: ThroughLine's terms on caching are not
     * public, so the customer must check its agreement before turning it on (docs/throughline-api.md).
     */
    cache: z
      .strictObject({
        enabled: z.boolean({ error: 'must be true or false' }).default(false),
        /** Seconds a 200 GET answer below each route prefix is served from the cache. Unlisted prefixes are not cached. */
        ttlSecondsByPrefix: z
          .record(
            z.string().regex(/^(\/[A-Za-z0-9_-]{1,64}){1,8}$/, {
              error: 'must be a route prefix such as /v2/countries',
            }),
            seconds(1, 7 * 86_400),
          )
          .default({ '/v2/countries': 86_400, '/v2/topics': 86_400, '/v2/helplines': 3_600 }),
        /** How long past its TTL the last good answer may be served (marked stale) when ThroughLine fails or the reserve is reached. */
        staleIfErrorSeconds: seconds(0, 7 * 86_400).default(86_400),
      })
      .prefault({}),
    shares: z
      .strictObject({
        /** Calls in a rolling 24 hours for each principal without a share of its own or of its account. */
        defaultDailyCalls: count(1, 1_000_000).default(250),
        /** Shares by IAM role or user ARN (sessions of a role count as the role). */
        byPrincipalArn: z.record(principalArn, count(1, 1_000_000)).default({}),
        /** Shares by AWS account id: all the account's principals together. */
        byAccountId: z.record(accountId, count(1, 1_000_000)).default({}),
      })
      .prefault({}),
  })
  .superRefine((proxy, ctx) => {
    for (const [name, share] of [
      ['defaultDailyCalls', proxy.shares.defaultDailyCalls],
      ...Object.entries(proxy.shares.byPrincipalArn),
      ...Object.entries(proxy.shares.byAccountId),
    ] as [string, number][]) {
      if (share > proxy.dailyQuotaCalls) {
        ctx.addIssue({
          code: 'custom',
          path: ['shares'],
          message: `the share of ${name} (${share}) is more than the whole daily quota (${proxy.dailyQuotaCalls}): lower it`,
        });
      }
    }
    for (const prefix of proxy.cache.enabled ? Object.keys(proxy.cache.ttlSecondsByPrefix) : []) {
      if (!proxy.routes.some((r) => r.prefix === prefix && r.methods.includes('GET'))) {
        ctx.addIssue({
          code: 'custom',
          path: ['cache', 'ttlSecondsByPrefix', prefix],
          message:
            'is not the prefix of a GET route in proxy.routes: only GET answers of configured routes are cached',
        });
      }
    }
    const prefixes = proxy.routes.map((r) => r.prefix);
    const repeated = prefixes.filter((p, i) => prefixes.indexOf(p) !== i);
    if (repeated.length > 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['routes'],
        message: `lists a prefix more than once: ${[...new Set(repeated)].join(', ')}`,
      });
    }
    if (proxy.upstreamTimeoutMs >= proxy.requestBudgetMs) {
      ctx.addIssue({
        code: 'custom',
        path: ['upstreamTimeoutMs'],
        message:
          'must be below proxy.requestBudgetMs, or a call could not wait for ThroughLine within its budget',
      });
    }
  }, ONLY_WHEN_FIELDS_VALID);

export const refreshSchema = z
  .strictObject({
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
  })
  .superRefine((refresh, ctx) => {
    atLeast(
      ctx,
      refresh.maxRetryDelaySeconds,
      refresh.retryIntervalSeconds,
      ['maxRetryDelaySeconds'],
      'refresh.retryIntervalSeconds',
    );
  }, ONLY_WHEN_FIELDS_VALID);

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
    upstream: upstreamSchema.prefault({}),
    gate: gateSchema.prefault({}),
    mintToken: mintTokenSchema.prefault({}),
    token: tokenSchema.prefault({}),
    monitoring: monitoringSchema.prefault({}),
    api: apiSchema.prefault({}),
    refresh: refreshSchema.prefault({}),
    proxy: proxySchema.prefault({}),
  })
  // Only the rules that span sections; each section checks its own (above).
  .superRefine((stage, ctx) => {
    const { token, refresh } = stage;
    const headroom = refreshHeadroomSeconds(token);
    const { tokenExpiryWarningSeconds } = stage.monitoring.thresholds;
    if (tokenExpiryWarningSeconds >= headroom) {
      ctx.addIssue({
        code: 'custom',
        path: ['monitoring', 'thresholds', 'tokenExpiryWarningSeconds'],
        message: `must be below the ${headroom} s a token has left when it is due for refresh, or every normal refresh pages on-call; lower it`,
      });
    }
    if (tokenExpiryWarningSeconds <= token.minTtlSeconds) {
      ctx.addIssue({
        code: 'custom',
        path: ['monitoring', 'thresholds', 'tokenExpiryWarningSeconds'],
        message: `must be above token.minTtlSeconds (${token.minTtlSeconds} s), or on-call hears only after callers stopped getting tokens`,
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
    const reserve = Math.floor((stage.proxy.dailyQuotaCalls * stage.proxy.reservePercent) / 100);
    if (stage.proxy.enabled && stage.gate.dailyRequestBudget >= reserve) {
      ctx.addIssue({
        code: 'custom',
        path: ['gate', 'dailyRequestBudget'],
        message: `must be below the proxy's reserve (${reserve} calls: proxy.dailyQuotaCalls × proxy.reservePercent), or token requests alone could stop every proxied call`,
      });
    }
    if (stage.gate.dailyRequestBudget > stage.monitoring.dailyUpstreamRequestBudget) {
      ctx.addIssue({
        code: 'custom',
        path: ['gate', 'dailyRequestBudget'],
        message: `must be at most monitoring.dailyUpstreamRequestBudget (${stage.monitoring.dailyUpstreamRequestBudget}, ThroughLine's daily allowance): the broker must stop before ThroughLine does`,
      });
    }
  }, ONLY_WHEN_FIELDS_VALID);

export type StageConfig = z.output<typeof stageSchema>;
/** What a stage's settings may be written as (cdk.json, or TokenBroker's `settings`): every field optional. */
export type StageSettingsInput = z.input<typeof stageSchema>;
export type UpstreamConfig = StageConfig['upstream'];
export type TokenConfig = StageConfig['token'];
export type MonitoringConfig = StageConfig['monitoring'];
export type MonitoringThresholds = MonitoringConfig['thresholds'];
export type ApiConfig = StageConfig['api'];
export type RefreshConfig = StageConfig['refresh'];
export type GateConfig = StageConfig['gate'];
export type ProxyConfig = StageConfig['proxy'];
