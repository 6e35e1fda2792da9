import { randomUUID } from 'node:crypto';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  InvalidParameterException,
  InvalidRequestException,
  ListSecretsCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  TagResourceCommand,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { BrokerSettings, UpstreamSettings } from '../../contract/broker-settings';
import { STAGED_LABEL } from '../../contract/credentials-secret';
import { MetricName, STEP_DIMENSION } from '../../contract/metric-names';
import type { MintTokenRequest } from '../../contract/mint-token-payload';
import { parseProgress, ROTATION_PROGRESS_TAG, type RotationStep } from '../../contract/rotation-progress';
import type { TokenMetadata } from '../../contract/token-cache-schema';
import { InvalidClientError, UpstreamUnavailableError } from '../../lambda/errors/broker-errors';
import { type CacheRefresher, CredentialRotation } from '../../lambda/rotation/credential-rotation';
import {
  CacheRefreshAfterRotationError,
  RotationAbandonedError,
  RotationNotStagedError,
  StagedCredentialsInvalidError,
  StagedCredentialsTestFailedError,
  StagedCredentialsUnchangedError,
  WrongSecretError,
} from '../../lambda/rotation/rotation-errors';
import {
  InMemorySecretsManager,
  type InMemorySecretsManagerOptions,
  REDACTED,
  UndocumentedCaseRefused,
} from '../kit/emulators/in-memory-secrets-manager';
import {
  RecordingLogger,
  RecordingMetrics,
  ScriptedUpstream,
  VirtualClock,
} from '../kit/fakes/in-memory-minter-deps';
import { expectNoSecretIn } from '../kit/vitest/leaks';

/**
 * CredentialRotation's four steps (lambda/rotation/credential-rotation.ts) driven one by one as Secrets
 * Manager invokes them. Secrets Manager is the in-memory stand-in (test/kit/emulators/in-memory-secrets-manager.ts),
 * which follows the documented contract and refuses what AWS does not document. The logger and metrics are
 * recording fakes. ThroughLine's token endpoint is replaced by a ScriptedUpstream, swapped in for
 * `requestClientCredentialsToken` through the module seam that test/unit/token-minter.test.ts uses too,
 * because credential-check.ts imports it directly. The cache refresh is a function that answers as
 * mint-token would. Time is virtual and nothing waits. The bundled handler against moto is
 * test/integration/rotate-credentials.test.ts.
 */
const upstreamSeam = vi.hoisted(() => ({
  request: undefined as undefined | ((...args: never[]) => unknown),
}));
vi.mock('../../lambda/upstream/oauth-client', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../../lambda/upstream/oauth-client')>()),
  requestClientCredentialsToken: (...args: never[]) => {
    if (!upstreamSeam.request) throw new Error('no ScriptedUpstream in this test');
    return upstreamSeam.request(...args);
  },
}));

const T0 = 1_800_000_000_000;
const ALL_STEPS: readonly RotationStep[] = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'];

const SETTINGS: BrokerSettings = {
  upstream: {
    tokenUrl: 'https://auth.throughline.test/oauth/token',
    clientAuthentication: 'client_secret_post',
    requestTimeoutMs: 1_000,
    totalBudgetMs: 10_000,
    maxAttempts: 3,
    backoffBaseMs: 10,
    backoffCapMs: 50,
  },
  token: {
    defaultLifetimeSeconds: 3_600,
    maxLifetimeSeconds: 86_400,
    refreshAtFraction: 0.75,
    minTtlSeconds: 60,
    maxMinTtlSeconds: 1_800,
  },
  gate: {
    backoffBaseSeconds: 1,
    backoffCapSeconds: 4,
    credentialsRejectedWaitSeconds: 900,
    maxRetryAfterSeconds: 3_600,
    dailyRequestBudget: 1_000,
    leaseSeconds: 10,
  },
};

interface Pair {
  readonly client_id: string;
  readonly client_secret: string;
}

/** A ThroughLine application's credentials, unique per call so a leak check can search for them. */
function pair(label: string): Pair {
  const id = randomUUID().replaceAll('-', '');
  return { client_id: `client-${label}-${id.slice(0, 8)}`, client_secret: `SecretOf${label}${id}` };
}

/** RecordingLogger plus the persistent keys CredentialRotation appends and removes (Powertools' appendKeys). */
class RotationLogger extends RecordingLogger {
  readonly keys: Record<string, unknown> = {};
  readonly appendKeys = (keys: Record<string, unknown>): void => {
    Object.assign(this.keys, keys);
  };
  readonly removeKeys = (names: string[]): void => {
    for (const name of names) delete this.keys[name];
  };
  /** Every record as printed, persistent keys included. */
  lines(): string[] {
    return [...this.records.map((r) => JSON.stringify(r)), JSON.stringify(this.keys)];
  }
}

function world(
  options: {
    /** The AWSCURRENT pair; null: an empty secret (a new stack). */
    readonly current?: Pair | null;
    readonly upstream?: Partial<UpstreamSettings>;
    readonly secretsManager?: InMemorySecretsManagerOptions;
    readonly refreshFails?: boolean;
  } = {},
) {
  const clock = new VirtualClock(T0);
  const sm = new InMemorySecretsManager({ now: clock.now, ...options.secretsManager });
  const current = options.current === undefined ? pair('old') : options.current;
  const secretArn = sm.createSecret('throughline-broker/credentials', {
    ...(current ? { secretString: JSON.stringify(current) } : {}),
    rotationLambdaArn: 'arn:aws:lambda:us-east-1:123456789012:function:rotate-credentials',
  });
  const logger = new RotationLogger();
  const metrics = new RecordingMetrics();
  const upstream = new ScriptedUpstream();
  upstreamSeam.request = upstream.request as never;
  const refreshes: MintTokenRequest[] = [];
  // mint-token's `refresh` as the rotation sees it: it mints with AWSCURRENT and answers the cached metadata.
  const refreshCache: CacheRefresher = async (request) => {
    refreshes.push(request);
    if (options.refreshFails) throw Object.assign(new Error('throttled'), { name: 'MintThrottledError' });
    const mintedAt = clock.now() / 1000;
    return {
      tokenType: 'Bearer',
      mintedAt,
      expiresAt: mintedAt + 3_600,
      refreshAt: mintedAt + 2_700,
      credentialVersionId: sm.versionWith(secretArn, 'AWSCURRENT') ?? 'none',
    } satisfies TokenMetadata;
  };
  const rotation = new CredentialRotation({
    secrets: sm.asClient(),
    secretArn,
    settings: { ...SETTINGS, upstream: { ...SETTINGS.upstream, ...options.upstream } },
    refreshCache,
    logger: logger as unknown as Logger,
    metrics: metrics as unknown as Metrics,
    now: clock.now,
  });
  const oldVersion = sm.versionWith(secretArn, 'AWSCURRENT');

  /** One step as Secrets Manager invokes it: {SecretId, ClientRequestToken, Step, RotationToken}. */
  const step = (token: string, Step: RotationStep, secretId = secretArn): Promise<void> => {
    const rotationToken = sm.rotation(token)?.rotationToken;
    return rotation.run(
      {
        SecretId: secretId,
        ClientRequestToken: token,
        Step,
        ...(rotationToken ? { RotationToken: rotationToken } : {}),
      },
      clock.now() + 60_000,
    );
  };
  /** The step's error (undefined if it succeeded). */
  const failure = (token: string, Step: RotationStep, secretId?: string): Promise<unknown> =>
    step(token, Step, secretId).then(
      () => undefined,
      (error: unknown) => error,
    );

  /** What `credentials rotate` and RotateSecret do before the first step: stage the pair, open the rotation. */
  const stagedRotation = (staged: Pair | string) => {
    const stagedVersion = sm.operatorPut({
      SecretId: secretArn,
      ClientRequestToken: randomUUID(),
      SecretString: typeof staged === 'string' ? staged : JSON.stringify(staged),
      VersionStages: [STAGED_LABEL],
    });
    return { stagedVersion, token: sm.openRotation(secretArn).token };
  };

  const progress = () => parseProgress(sm.tagOf(secretArn, ROTATION_PROGRESS_TAG));
  /** What a repeated step must leave as it found it: labels, progress tag, the rotation version's value. */
  const state = (token: string) => ({
    stages: sm.stagesOf(secretArn),
    progress: sm.tagOf(secretArn, ROTATION_PROGRESS_TAG),
    value: sm.valueOf(secretArn, token),
  });
  /** Everything a person or a log pipeline could read: log lines, recorded calls, tags, metrics, errors. */
  const printable = (errors: readonly unknown[] = []): string[] => [
    ...logger.lines(),
    ...sm.summary(),
    ...sm.refusals,
    JSON.stringify(sm.events),
    sm.tagOf(secretArn, ROTATION_PROGRESS_TAG) ?? '',
    JSON.stringify(metrics.points),
    JSON.stringify(upstream.requests),
    ...errors.map((e) => (e instanceof Error ? `${e.name}: ${e.message} ${JSON.stringify(e)}` : String(e))),
  ];
  const stepFailures = () => metrics.sum(MetricName.RotationStepFailed);

  return {
    sm,
    secretArn,
    oldVersion,
    current,
    logger,
    metrics,
    upstream,
    refreshes,
    step,
    failure,
    stagedRotation,
    progress,
    state,
    printable,
    stepFailures,
  };
}

const invalidClient = () => ({
  kind: 'error' as const,
  error: new InvalidClientError(
    'ThroughLine rejected the client credentials (HTTP 401, invalid_client): they are wrong, revoked or regenerated',
    401,
    'invalid_client',
  ),
});

beforeEach(() => {
  upstreamSeam.request = undefined;
});

describe('CredentialRotation — happy path', () => {
  it('createSecret → setSecret → testSecret → finishSecret promotes the staged pair and asks for one cache refresh', async () => {
    const w = world();
    const staged = pair('new');
    const { stagedVersion, token } = w.stagedRotation(staged);
    // RotateSecret's version exists with AWSPENDING and no value.
    expect(w.sm.stagesOf(w.secretArn)).toEqual({
      [w.oldVersion as string]: ['AWSCURRENT'],
      [stagedVersion]: [STAGED_LABEL],
      [token]: ['AWSPENDING'],
    });
    expect(w.sm.valueOf(w.secretArn, token)).toBeUndefined();

    await w.step(token, 'createSecret');

    // The staged value was copied byte for byte, with the event's RotationToken; nothing else moved.
    expect(w.sm.valueOf(w.secretArn, token)).toBe(w.sm.valueOf(w.secretArn, stagedVersion));
    expect(w.sm.rotation(token)?.writtenWithRotationToken).toBe(w.sm.rotation(token)?.rotationToken);
    expect(w.sm.calls.filter((c) => c.operation === 'PutSecretValue').map((c) => c.input)).toEqual([
      {
        SecretId: w.secretArn,
        ClientRequestToken: token,
        SecretString: REDACTED,
        VersionStages: ['AWSPENDING'],
        RotationToken: REDACTED,
      },
    ]);

    await w.step(token, 'setSecret');
    await w.step(token, 'testSecret');

    // testSecret minted once with the staged pair; AWSCURRENT and the cache are untouched so far.
    expect(w.upstream.requests.map((r) => r.clientId)).toEqual([staged.client_id]);
    expect(w.sm.versionWith(w.secretArn, 'AWSCURRENT')).toBe(w.oldVersion);
    expect(w.refreshes).toEqual([]);

    await w.step(token, 'finishSecret');

    // AWSCURRENT on the new version, AWSPREVIOUS on the old one, AWSPENDING and the staged label gone
    // (the staged copy has no label left, so DescribeSecret no longer lists it).
    expect(w.sm.stagesOf(w.secretArn)).toEqual({
      [w.oldVersion as string]: ['AWSPREVIOUS'],
      [token]: ['AWSCURRENT'],
    });
    expect(w.refreshes).toEqual([{ action: 'refresh', requestedBy: 'rotation' }]);
    expect(w.metrics.sum(MetricName.CredentialsRotated)).toBe(1);
    expect(w.stepFailures()).toBe(0);
    expect(w.upstream.requests).toHaveLength(1);
    expect(w.sm.refusals).toEqual([]);
    expect(w.logger.keys).toEqual({});
    expectNoSecretIn(w.printable(), [staged.client_secret, w.current?.client_secret ?? '']);
  });

  it('records the progress tag after each step: this token, this step, done', async () => {
    const w = world();
    const { token } = w.stagedRotation(pair('new'));
    const seen = [];

    for (const step of ALL_STEPS) {
      await w.step(token, step);
      seen.push(w.progress());
    }

    expect(seen).toEqual(
      ALL_STEPS.map((step) => ({ token, step, status: 'done', at: new Date(T0).toISOString() })),
    );
  });

  it('every step is idempotent: run twice, the state is the same and the repeat writes nothing', async () => {
    const w = world();
    const { stagedVersion, token } = w.stagedRotation(pair('new'));
    const firstRuns: Record<string, string[]> = {};
    const repeats: Record<string, string[]> = {};

    for (const step of ALL_STEPS) {
      let from = w.sm.calls.length;
      await w.step(token, step);
      firstRuns[step] = w.sm.operations(from);
      const after = w.state(token);
      from = w.sm.calls.length;
      await w.step(token, step);
      repeats[step] = w.sm.operations(from);
      expect(w.state(token), `${step} run twice`).toEqual(after);
    }

    expect(firstRuns).toEqual({
      // describe; AWSCURRENT; the rotation version (not written yet); the staged version; the copy; progress.
      createSecret: [
        'DescribeSecret',
        'GetSecretValue',
        'GetSecretValue',
        'GetSecretValue',
        'PutSecretValue',
        'TagResource',
      ],
      setSecret: ['DescribeSecret', 'TagResource'],
      testSecret: ['DescribeSecret', 'GetSecretValue', 'TagResource'],
      // promote; remove AWSPENDING (re-described first); release THROUGHLINE_STAGED (described, read, removed).
      finishSecret: [
        'DescribeSecret',
        'GetSecretValue',
        'UpdateSecretVersionStage',
        'DescribeSecret',
        'UpdateSecretVersionStage',
        'DescribeSecret',
        'GetSecretValue',
        'DescribeSecret',
        'UpdateSecretVersionStage',
        'TagResource',
      ],
    });
    // The repeats only re-read and re-record: no PutSecretValue, no label moved.
    expect(repeats).toEqual({
      createSecret: ['DescribeSecret', 'GetSecretValue', 'GetSecretValue', 'TagResource'],
      setSecret: ['DescribeSecret', 'TagResource'],
      testSecret: ['DescribeSecret', 'GetSecretValue', 'TagResource'],
      finishSecret: ['DescribeSecret', 'GetSecretValue', 'DescribeSecret', 'DescribeSecret', 'TagResource'],
    });
    // testSecret mints again when repeated; finishSecret asks mint-token again (a fresh token makes that a no-op there).
    expect(w.upstream.requests).toHaveLength(2);
    expect(w.refreshes).toHaveLength(2);
    expect(w.metrics.sum(MetricName.CredentialsRotated)).toBe(1);
    expect(w.sm.stagesOf(w.secretArn)).toEqual({
      [w.oldVersion as string]: ['AWSPREVIOUS'],
      [token]: ['AWSCURRENT'],
    });
    expect(w.sm.valueOf(w.secretArn, token)).toBe(w.sm.valueOf(w.secretArn, stagedVersion));
    expect(w.sm.refusals).toEqual([]);
  });

  it('a whole second pass after the rotation finished (Secrets Manager retrying) changes nothing and calls nobody', async () => {
    const w = world();
    const { token } = w.stagedRotation(pair('new'));
    for (const step of ALL_STEPS) await w.step(token, step);
    const after = w.state(token);
    const from = w.sm.calls.length;

    for (const step of ALL_STEPS) await w.step(token, step);

    expect(w.state(token)).toEqual(after);
    expect(w.sm.count('PutSecretValue', from)).toBe(0);
    expect(w.sm.count('UpdateSecretVersionStage', from)).toBe(0);
    // testSecret of a version that is already AWSCURRENT has nothing left to test.
    expect(w.upstream.requests).toHaveLength(1);
    expect(w.metrics.sum(MetricName.CredentialsRotated)).toBe(1);
  });

  it('a rotation interrupted after createSecret and run again from the start ends as an uninterrupted one', async () => {
    const w = world();
    const staged = pair('new');
    const { token } = w.stagedRotation(staged);

    await w.step(token, 'createSecret');
    for (const step of ALL_STEPS) await w.step(token, step);

    expect(w.sm.stagesOf(w.secretArn)).toEqual({
      [w.oldVersion as string]: ['AWSPREVIOUS'],
      [token]: ['AWSCURRENT'],
    });
    expect(w.sm.count('PutSecretValue')).toBe(1);
    expect(JSON.parse(w.sm.valueOf(w.secretArn, token) ?? '{}')).toEqual(staged);
  });
});

describe('CredentialRotation — failures leave AWSCURRENT alone', () => {
  it('createSecret with nothing staged → RotationNotStagedError; nothing written, progress failed and not retryable', async () => {
    const w = world();
    const token = w.sm.openRotation(w.secretArn).token;

    const error = await w.failure(token, 'createSecret');

    expect(error).toBeInstanceOf(RotationNotStagedError);
    expect(w.sm.stagesOf(w.secretArn)).toEqual({
      [w.oldVersion as string]: ['AWSCURRENT'],
      [token]: ['AWSPENDING'],
    });
    expect(w.sm.count('PutSecretValue')).toBe(0);
    expect(w.sm.count('UpdateSecretVersionStage')).toBe(0);
    expect(w.progress()).toMatchObject({
      token,
      step: 'createSecret',
      status: 'failed',
      error: 'RotationNotStagedError',
      retryable: false,
    });
    expect(w.metrics.sum(MetricName.RotationStepFailed, { [STEP_DIMENSION]: 'createSecret' })).toBe(1);
    expect(w.stepFailures()).toBe(1);
    expect(w.logger.records.filter((r) => r.level === 'error').map((r) => r.message)).toEqual([
      'Rotation step failed',
    ]);
  });

  it('staging the pair already in use → StagedCredentialsUnchangedError; nothing written', async () => {
    const w = world();
    const { stagedVersion, token } = w.stagedRotation(w.current as Pair);

    const error = await w.failure(token, 'createSecret');

    expect(error).toBeInstanceOf(StagedCredentialsUnchangedError);
    expect(w.sm.count('PutSecretValue')).toBe(0);
    expect(w.sm.stagesOf(w.secretArn)).toEqual({
      [w.oldVersion as string]: ['AWSCURRENT'],
      [stagedVersion]: [STAGED_LABEL],
      [token]: ['AWSPENDING'],
    });
    expect(w.progress()).toMatchObject({ step: 'createSecret', status: 'failed', retryable: false });
    expect(w.metrics.sum(MetricName.RotationStepFailed, { [STEP_DIMENSION]: 'createSecret' })).toBe(1);
    expectNoSecretIn(w.printable([error]), [w.current?.client_secret ?? '']);
  });

  it.each([
    ['not JSON', 'client_id=StagedIdValue1&client_secret=StagedSecretValue1'],
    ['JSON with a misspelt field', '{"client_id":"StagedIdValue1","client_secrt":"StagedSecretValue1"}'],
    [
      'JSON with whitespace around the secret',
      '{"client_id":"StagedIdValue1","client_secret":" StagedSecretValue1 "}',
    ],
    [
      'the deploy-time placeholder',
      '{"throughline_broker_placeholder":"set me","nonce":"StagedSecretValue1"}',
    ],
  ])(
    'malformed staged credentials (%s) → StagedCredentialsInvalidError, the value echoed nowhere',
    async (_, value) => {
      const w = world();
      const { token } = w.stagedRotation(value);

      const error = await w.failure(token, 'createSecret');

      expect(error).toBeInstanceOf(StagedCredentialsInvalidError);
      expect(w.sm.count('PutSecretValue')).toBe(0);
      expect(w.sm.versionWith(w.secretArn, 'AWSCURRENT')).toBe(w.oldVersion);
      expect(w.progress()).toMatchObject({
        token,
        step: 'createSecret',
        status: 'failed',
        error: 'StagedCredentialsInvalidError',
        retryable: false,
      });
      expect(w.metrics.sum(MetricName.RotationStepFailed, { [STEP_DIMENSION]: 'createSecret' })).toBe(1);
      // The error message, every log line, every recorded call, the tag and the metrics: none holds the value.
      expectNoSecretIn(w.printable([error]), [value, 'StagedSecretValue1', 'StagedIdValue1']);
    },
  );

  it('testSecret with credentials ThroughLine rejects (invalid_client) → StagedCredentialsTestFailedError, not retried', async () => {
    const w = world();
    const staged = pair('new');
    const { token } = w.stagedRotation(staged);
    await w.step(token, 'createSecret');
    await w.step(token, 'setSecret');
    w.upstream.script(invalidClient());

    const error = await w.failure(token, 'testSecret');

    expect(error).toBeInstanceOf(StagedCredentialsTestFailedError);
    expect(error).toMatchObject({ upstreamError: 'InvalidClientError', retryable: false });
    // invalid_client is never retried: one request, with the staged pair.
    expect(w.upstream.requests.map((r) => r.clientId)).toEqual([staged.client_id]);
    expect(w.sm.versionWith(w.secretArn, 'AWSCURRENT')).toBe(w.oldVersion);
    expect(w.sm.count('UpdateSecretVersionStage')).toBe(0);
    expect(w.refreshes).toEqual([]);
    expect(w.progress()).toEqual({
      token,
      step: 'testSecret',
      status: 'failed',
      error: 'StagedCredentialsTestFailedError',
      upstreamError: 'InvalidClientError',
      retryable: false,
      at: new Date(T0).toISOString(),
    });
    expect(w.metrics.sum(MetricName.RotationStepFailed, { [STEP_DIMENSION]: 'testSecret' })).toBe(1);
    expect(w.stepFailures()).toBe(1);
    expectNoSecretIn(w.printable([error]), [staged.client_secret, w.current?.client_secret ?? '']);
  });

  it('testSecret while ThroughLine is unavailable → StagedCredentialsTestFailedError marked retryable', async () => {
    // One attempt, so the retry policy never sleeps.
    const w = world({ upstream: { maxAttempts: 1 } });
    const { token } = w.stagedRotation(pair('new'));
    await w.step(token, 'createSecret');
    w.upstream.script({
      kind: 'error',
      error: new UpstreamUnavailableError('Token endpoint failed with HTTP 503', 503, undefined),
    });

    const error = await w.failure(token, 'testSecret');

    expect(error).toBeInstanceOf(StagedCredentialsTestFailedError);
    expect(w.progress()).toMatchObject({
      step: 'testSecret',
      status: 'failed',
      upstreamError: 'UpstreamUnavailableError',
      retryable: true,
    });
    expect(w.sm.versionWith(w.secretArn, 'AWSCURRENT')).toBe(w.oldVersion);
  });

  it('an event naming another secret → WrongSecretError; neither secret is written, not even a progress tag', async () => {
    const w = world();
    const otherArn = w.sm.createSecret('someone-else/secret', {
      secretString: JSON.stringify(pair('other')),
    });
    w.sm.operatorPut({
      SecretId: otherArn,
      SecretString: JSON.stringify(pair('x')),
      VersionStages: [STAGED_LABEL],
    });
    const token = w.sm.openRotation(otherArn).token;
    const otherStages = w.sm.stagesOf(otherArn);

    const errors = [];
    for (const step of ALL_STEPS) errors.push(await w.failure(token, step, otherArn));

    for (const error of errors) expect(error).toBeInstanceOf(WrongSecretError);
    expect(w.sm.operations()).toEqual(ALL_STEPS.map(() => 'DescribeSecret'));
    expect(w.sm.calls.map((c) => c.input.SecretId)).toEqual(ALL_STEPS.map(() => otherArn));
    expect(w.sm.stagesOf(otherArn)).toEqual(otherStages);
    expect(w.sm.tagOf(w.secretArn, ROTATION_PROGRESS_TAG)).toBeUndefined();
    expect(w.sm.tagOf(otherArn, ROTATION_PROGRESS_TAG)).toBeUndefined();
    for (const step of ALL_STEPS) {
      expect(w.metrics.sum(MetricName.RotationStepFailed, { [STEP_DIMENSION]: step })).toBe(1);
    }
  });

  it("an event naming a secret the role cannot describe leaves the broker's progress tag of a rotation in flight alone", async () => {
    const w = world();
    const { token } = w.stagedRotation(pair('new'));
    await w.step(token, 'createSecret');
    const inFlight = w.sm.tagOf(w.secretArn, ROTATION_PROGRESS_TAG);
    // On AWS the rotate role may describe only its own secret (AccessDeniedException); an unknown ARN
    // answers ResourceNotFoundException here: either way the event is not about the broker's secret.
    const foreignArn = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:someone-else-AbCdEf';

    const error = await w.failure(randomUUID(), 'createSecret', foreignArn);

    expect(error).toBeInstanceOf(ResourceNotFoundException);
    expect(w.sm.tagOf(w.secretArn, ROTATION_PROGRESS_TAG)).toBe(inFlight);
    expect(w.sm.count('TagResource')).toBe(1);
  });

  it('finishSecret for a version Secrets Manager never created → RotationAbandonedError; AWSCURRENT stays', async () => {
    const w = world();
    w.stagedRotation(pair('new'));

    const error = await w.failure(randomUUID(), 'finishSecret');

    expect(error).toBeInstanceOf(RotationAbandonedError);
    expect(w.sm.count('UpdateSecretVersionStage')).toBe(0);
    expect(w.sm.versionWith(w.secretArn, 'AWSCURRENT')).toBe(w.oldVersion);
    expect(w.metrics.sum(MetricName.RotationStepFailed, { [STEP_DIMENSION]: 'finishSecret' })).toBe(1);
  });

  // What GetSecretValue answers for a version left without labels is undocumented (the stand-in refuses
  // it by default): played both ways, though finishSecret now checks AWSPENDING before it reads.
  it.each(['value', 'not-found'] as const)(
    'a new version written during the rotation abandons it: later steps refuse, nothing is promoted (unlabelled reads: %s)',
    async (unlabelledVersionReads) => {
      const w = world({ secretsManager: { unlabelledVersionReads } });
      const { token } = w.stagedRotation(pair('new'));
      await w.step(token, 'createSecret');
      // A concurrent `credentials set` (or a hand-made put-secret-value) writes a new version.
      w.sm.operatorPut({
        SecretId: w.secretArn,
        SecretString: JSON.stringify(pair('other')),
        VersionStages: ['X'],
      });

      const errors = [];
      for (const step of ['setSecret', 'testSecret', 'finishSecret'] as const) {
        errors.push(await w.failure(token, step));
      }

      expect(w.sm.events).toEqual([{ eventName: 'RotationAbandoned', token }]);
      for (const error of errors) expect(error).toBeInstanceOf(RotationAbandonedError);
      expect(w.sm.versionWith(w.secretArn, 'AWSCURRENT')).toBe(w.oldVersion);
      expect(w.sm.versionWith(w.secretArn, 'AWSPENDING')).toBeUndefined();
      expect(w.sm.count('UpdateSecretVersionStage')).toBe(0);
      expect(w.upstream.requests).toEqual([]);
      expect(w.progress()).toMatchObject({ token, step: 'finishSecret', status: 'failed', retryable: false });
    },
  );

  it('a failing cache refresh after promotion → CacheRefreshAfterRotationError (retryable); the new version stays AWSCURRENT', async () => {
    const w = world({ refreshFails: true });
    const { token } = w.stagedRotation(pair('new'));
    for (const step of ['createSecret', 'setSecret', 'testSecret'] as const) await w.step(token, step);

    const error = await w.failure(token, 'finishSecret');

    expect(error).toBeInstanceOf(CacheRefreshAfterRotationError);
    expect(w.sm.versionWith(w.secretArn, 'AWSCURRENT')).toBe(token);
    expect(w.progress()).toMatchObject({
      step: 'finishSecret',
      status: 'failed',
      error: 'CacheRefreshAfterRotationError',
      retryable: true,
    });
    expect(w.metrics.sum(MetricName.RotationStepFailed, { [STEP_DIMENSION]: 'finishSecret' })).toBe(1);
  });
});

describe('CredentialRotation — the configuration test on a new stack', () => {
  it('testSecret alone on the temporary AWSPENDING version of an empty secret passes without calling ThroughLine', async () => {
    const w = world({ current: null });
    const token = w.sm.openRotation(w.secretArn, { testOnly: true }).token;

    await w.step(token, 'testSecret');

    expect(w.upstream.requests).toEqual([]);
    expect(w.progress()).toMatchObject({ token, step: 'testSecret', status: 'done' });
    expect(w.sm.count('PutSecretValue')).toBe(0);
  });

  it('the same unusable version is an error once createSecret of that rotation is recorded', async () => {
    const w = world({ current: null });
    const token = w.sm.openRotation(w.secretArn).token;
    await w.sm.send(
      new TagResourceCommand({
        SecretId: w.secretArn,
        Tags: [{ Key: ROTATION_PROGRESS_TAG, Value: `token=${token} step=createSecret status=done at=x` }],
      }),
    );

    const error = await w.failure(token, 'testSecret');

    expect(error).toBeInstanceOf(RotationNotStagedError);
    expect(w.upstream.requests).toEqual([]);
  });
});

describe('InMemorySecretsManager — the documented rules the rotation tests rely on', () => {
  const sm = () => new InMemorySecretsManager({ now: () => T0 });
  const rejection = (promise: Promise<unknown>) =>
    promise.then(
      () => undefined,
      (e: unknown) => e,
    );

  it("the rotation's version has AWSPENDING and no value: DescribeSecret lists it, GetSecretValue answers ResourceNotFoundException", async () => {
    const s = sm();
    const arn = s.createSecret('a', { secretString: '{"v":1}' });
    const { token } = s.openRotation(arn);

    const described = (await s.send(new DescribeSecretCommand({ SecretId: arn }))) as {
      VersionIdsToStages: Record<string, string[]>;
    };

    expect(described.VersionIdsToStages[token]).toEqual(['AWSPENDING']);
    for (const input of [
      { VersionId: token },
      { VersionStage: 'AWSPENDING' },
      { VersionId: token, VersionStage: 'AWSPENDING' },
    ]) {
      expect(await rejection(s.send(new GetSecretValueCommand({ SecretId: arn, ...input })))).toBeInstanceOf(
        ResourceNotFoundException,
      );
    }
    // RotateSecret is refused while that rotation is in progress.
    expect(() => s.openRotation(arn)).toThrow(InvalidRequestException);
  });

  it('an empty secret has no AWSCURRENT value: GetSecretValue answers ResourceNotFoundException', async () => {
    const s = sm();
    const arn = s.createSecret('empty');

    expect(await rejection(s.send(new GetSecretValueCommand({ SecretId: arn })))).toBeInstanceOf(
      ResourceNotFoundException,
    );
  });

  it('PutSecretValue: the same token and value is ignored, a different value is ResourceExistsException; labels move', async () => {
    const s = sm();
    const arn = s.createSecret('a', { secretString: 'one' });
    const first = s.versionWith(arn, 'AWSCURRENT') as string;
    const labelled = s.operatorPut({ SecretId: arn, SecretString: 'two', VersionStages: ['MINE'] });

    await s.send(
      new PutSecretValueCommand({ SecretId: arn, ClientRequestToken: labelled, SecretString: 'two' }),
    );
    const changed = await rejection(
      s.send(
        new PutSecretValueCommand({ SecretId: arn, ClientRequestToken: labelled, SecretString: 'three' }),
      ),
    );
    const relabelled = s.operatorPut({ SecretId: arn, SecretString: 'four', VersionStages: ['MINE'] });
    const promoted = s.operatorPut({ SecretId: arn, SecretString: 'five' });

    expect(changed).toBeInstanceOf(ResourceExistsException);
    expect(s.valueOf(arn, labelled)).toBe('two');
    // MINE moved to the newer version (the old one has no label left); no VersionStages moves AWSCURRENT.
    expect(s.stagesOf(arn)).toEqual({
      [first]: ['AWSPREVIOUS'],
      [relabelled]: ['MINE'],
      [promoted]: ['AWSCURRENT'],
    });
  });

  it('UpdateSecretVersionStage: AWSCURRENT moves only with RemoveFromVersionId, and AWSPREVIOUS follows it', async () => {
    const s = sm();
    const arn = s.createSecret('a', { secretString: 'one' });
    const one = s.versionWith(arn, 'AWSCURRENT') as string;
    const two = s.operatorPut({ SecretId: arn, SecretString: 'two', VersionStages: ['NEXT'] });
    const move = (input: { RemoveFromVersionId?: string }) =>
      rejection(
        s.send(
          new UpdateSecretVersionStageCommand({
            SecretId: arn,
            VersionStage: 'AWSCURRENT',
            MoveToVersionId: two,
            ...input,
          }),
        ),
      );

    expect(await move({})).toBeInstanceOf(InvalidParameterException);
    expect(await move({ RemoveFromVersionId: two })).toBeInstanceOf(InvalidParameterException);
    expect(await move({ RemoveFromVersionId: one })).toBeUndefined();
    expect(s.stagesOf(arn)).toEqual({ [one]: ['AWSPREVIOUS'], [two]: ['AWSCURRENT', 'NEXT'] });
  });

  it('UpdateSecretVersionStage: the undocumented and the self-contradicting cases are refused', async () => {
    const s = sm();
    const arn = s.createSecret('a', { secretString: 'one' });
    const one = s.versionWith(arn, 'AWSCURRENT') as string;
    const two = s.operatorPut({ SecretId: arn, SecretString: 'two', VersionStages: ['NEXT'] });
    const { token } = s.openRotation(arn);
    const update = (input: {
      VersionStage: string;
      MoveToVersionId?: string;
      RemoveFromVersionId?: string;
    }) => rejection(s.send(new UpdateSecretVersionStageCommand({ SecretId: arn, ...input })));

    const refused = [
      await update({ VersionStage: 'NEXT', MoveToVersionId: one }),
      await update({ VersionStage: 'NEXT', RemoveFromVersionId: one }),
      await update({ VersionStage: 'AWSCURRENT', RemoveFromVersionId: one }),
      await update({ VersionStage: 'AWSCURRENT', MoveToVersionId: token, RemoveFromVersionId: one }),
      await update({ VersionStage: 'NEXT', MoveToVersionId: two }),
      await update({ VersionStage: 'NEXT' }),
    ];

    for (const error of refused) expect(error).toBeInstanceOf(UndocumentedCaseRefused);
    expect(s.refusals).toHaveLength(refused.length);
    expect(s.stagesOf(arn)).toEqual({ [one]: ['AWSCURRENT'], [two]: ['NEXT'], [token]: ['AWSPENDING'] });
    // Removing AWSPENDING from the never-written version releases it: nothing is left of it.
    expect(await update({ VersionStage: 'AWSPENDING', RemoveFromVersionId: token })).toBeUndefined();
    expect(s.stagesOf(arn)).toEqual({ [one]: ['AWSCURRENT'], [two]: ['NEXT'] });
  });

  it('TagResource replaces the value of a key already there; DescribeSecret returns the tags', async () => {
    const s = sm();
    const arn = s.createSecret('a', { secretString: 'one' });

    await s.send(new TagResourceCommand({ SecretId: arn, Tags: [{ Key: 'k', Value: 'first' }] }));
    await s.send(new TagResourceCommand({ SecretId: arn, Tags: [{ Key: 'k', Value: 'second' }] }));
    const reserved = await rejection(
      s.send(new TagResourceCommand({ SecretId: arn, Tags: [{ Key: 'aws:k', Value: 'x' }] })),
    );

    expect(await s.send(new DescribeSecretCommand({ SecretId: arn }))).toMatchObject({
      ARN: arn,
      Tags: [{ Key: 'k', Value: 'second' }],
    });
    expect(reserved).toBeInstanceOf(InvalidParameterException);
  });

  it('records every call with secret values redacted, and refuses operations it does not model', async () => {
    const s = sm();
    const arn = s.createSecret('a', { secretString: 'one' });
    const { token, rotationToken } = s.openRotation(arn);

    await s.send(
      new PutSecretValueCommand({
        SecretId: arn,
        ClientRequestToken: token,
        SecretString: 'TopSecretValue9',
        VersionStages: ['AWSPENDING'],
        RotationToken: rotationToken,
      }),
    );
    const unknown = await rejection(s.send(new ListSecretsCommand({})));
    const missing = await rejection(s.send(new DescribeSecretCommand({ SecretId: 'nope' })));

    expect(unknown).toBeInstanceOf(UndocumentedCaseRefused);
    expect(missing).toBeInstanceOf(ResourceNotFoundException);
    expect(s.operations()).toEqual(['PutSecretValue', 'ListSecrets', 'DescribeSecret']);
    expect(s.calls[2]?.error).toBe('ResourceNotFoundException');
    expect(s.rotation(token)?.writtenWithRotationToken).toBe(rotationToken);
    expectNoSecretIn(s.summary(), ['TopSecretValue9', rotationToken]);
  });
});
