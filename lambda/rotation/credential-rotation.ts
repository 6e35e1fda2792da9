import type { Logger } from '@aws-lambda-powertools/logger';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import {
  GetSecretValueCommand,
  type GetSecretValueCommandOutput,
  PutSecretValueCommand,
  ResourceNotFoundException,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import type { BrokerSettings } from '../../contract/broker-settings';
import { STAGED_LABEL, Stage } from '../../contract/credentials-secret';
import { MetricName, STEP_DIMENSION } from '../../contract/metric-names';
import type { MintTokenRequest } from '../../contract/mint-token-payload';
import {
  parseProgress,
  ROTATION_PROGRESS_TAG,
  ROTATION_STEPS,
  type RotationStep,
} from '../../contract/rotation-progress';
import type { TokenMetadata } from '../../contract/token-cache-schema';
import { CredentialStore, parseCredentials, type StoredCredentials } from '../aws/credential-store';
import { type SecretDescription, SecretVersions, type VersionStages } from '../aws/secret-versions';
import { BrokerError, CredentialsMalformedError, CredentialsNotSetError } from '../errors/broker-errors';
import { errorFields } from '../errors/error-fields';
import { checkCredentials } from './credential-check';
import { recordProgress } from './progress-recorder';
import {
  CacheRefreshAfterRotationError,
  RotationAbandonedError,
  RotationError,
  RotationNotStagedError,
  StagedCredentialsInvalidError,
  StagedCredentialsTestFailedError,
  StagedCredentialsUnchangedError,
  WrongSecretError,
} from './rotation-errors';
import type { RotationEvent } from './rotation-event';

/** Asks mint-token to bring the cache up to date; returns the cached token's metadata. */
export type CacheRefresher = (request: MintTokenRequest) => Promise<TokenMetadata>;

export interface CredentialRotationDeps {
  readonly secrets: SecretsManagerClient;
  /** ARN of the broker's credentials secret: the only secret this function rotates. */
  readonly secretArn: string;
  readonly settings: BrokerSettings;
  readonly refreshCache: CacheRefresher;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly now?: () => number;
}

const STAGE_HOW_TO =
  'stage the new credentials and start the rotation with `npm run broker -- credentials rotate` (docs/rotation.md)';
const CURRENT_UNCHANGED =
  'Rotation stopped; AWSCURRENT is unchanged and callers keep the current credentials.';

/** Whether running the same rotation again can succeed: the error's own verdict, else (AWS errors) yes. */
function isRetryable(error: unknown): boolean {
  if (error instanceof RotationError || error instanceof BrokerError) return error.retryable;
  return true;
}

/** A version's stored value, or undefined while it has none (Secrets Manager answers ResourceNotFoundException). */
interface VersionValue {
  readonly secretString: string | undefined;
  readonly result: GetSecretValueCommandOutput;
}

/**
 * Secrets Manager's four rotation steps for ThroughLine client credentials, built only on documented
 * Secrets Manager behaviour (docs/rotation.md links each statement):
 *
 * - The operator writes the new pair as its own version under the custom label THROUGHLINE_STAGED
 *   (AWSCURRENT untouched, no AWSPENDING, so no rotation looks "in progress") and calls RotateSecret.
 * - Secrets Manager creates the rotation's version (the event's ClientRequestToken) with AWSPENDING and
 *   no value, then invokes this function step by step; if a step fails it retries the whole rotation.
 * - createSecret copies the staged pair into that version (PutSecretValue with the token,
 *   VersionStages [AWSPENDING] and the event's RotationToken), testSecret mints a real token with it,
 *   finishSecret moves AWSCURRENT to it, removes AWSPENDING and THROUGHLINE_STAGED, and has mint-token
 *   refresh the cache.
 *
 * Every step can run any number of times. Only finishSecret moves AWSCURRENT, and only after the version
 * holds a usable pair that testSecret proved, so every earlier failure leaves the credentials in use alone.
 */
export class CredentialRotation {
  private readonly versions: SecretVersions;
  private readonly store: CredentialStore;
  private readonly now: () => number;

  constructor(private readonly deps: CredentialRotationDeps) {
    this.versions = new SecretVersions(deps.secrets, deps.secretArn);
    this.store = new CredentialStore(deps.secrets, deps.secretArn);
    this.now = deps.now ?? Date.now;
  }

  /** Runs one step, records its outcome as progress on the secret, and counts failures. */
  async run(event: RotationEvent, deadlineMs: number): Promise<void> {
    const { logger } = this.deps;
    const token = event.ClientRequestToken;
    logger.appendKeys({ rotationStep: event.Step, clientRequestToken: token });
    // Progress goes on the broker's secret only for an event about it: an event naming another secret
    // (which the rotate role cannot even describe: AccessDeniedException) must not overwrite the
    // progress of a rotation in flight.
    let aboutOwnSecret = event.SecretId === this.deps.secretArn;
    try {
      const description = await this.describeOwnSecret(event.SecretId);
      aboutOwnSecret = true;
      await this.step(event, description, deadlineMs);
      logger.info('Rotation step done');
    } catch (error) {
      const single = this.deps.metrics.singleMetric();
      single.addDimension(STEP_DIMENSION, event.Step);
      single.addMetric(MetricName.RotationStepFailed, MetricUnit.Count, 1);
      logger.error('Rotation step failed', { error: errorFields(error) });
      if (aboutOwnSecret && !(error instanceof WrongSecretError)) {
        await this.progress(token, event.Step, 'failed', error).catch((tagError) =>
          logger.warn('Could not record rotation progress on the secret', { error: errorFields(tagError) }),
        );
      }
      throw error;
    } finally {
      logger.removeKeys(['rotationStep', 'clientRequestToken']);
    }
    await this.progress(token, event.Step, 'done').catch((tagError) =>
      logger.warn('Could not record rotation progress on the secret', { error: errorFields(tagError) }),
    );
  }

  private async step(
    event: RotationEvent,
    description: SecretDescription,
    deadlineMs: number,
  ): Promise<void> {
    const token = event.ClientRequestToken;
    switch (event.Step) {
      case 'createSecret':
        return this.createSecret(token, event.RotationToken, description);
      case 'setSecret':
        return this.setSecret(token, description);
      case 'testSecret':
        return this.testSecret(token, description, deadlineMs);
      case 'finishSecret':
        return this.finishSecret(token, description);
    }
  }

  /**
   * Copies the staged pair into the rotation's version. Nothing is generated: ThroughLine credentials
   * come from its dashboard. A retry finds the value already written and only re-checks it; the copy
   * is byte-for-byte, so a repeated PutSecretValue with the same token and value is ignored by Secrets
   * Manager ("the operation is idempotent", PutSecretValue API reference).
   */
  private async createSecret(
    token: string,
    rotationToken: string | undefined,
    { stages }: SecretDescription,
  ): Promise<void> {
    const { logger } = this.deps;
    if (stages.has(token, Stage.Current)) {
      logger.info('This version is already AWSCURRENT: the rotation finished earlier');
      return;
    }
    this.requirePending(token, stages, 'createSecret');
    const current = await this.currentOrUndefined();
    const existing = await this.readVersion(token, Stage.Pending);
    if (existing) {
      const written = this.parseStaged(existing, `version ${token}`);
      this.requireChanged(written, current, `version ${token}`);
      logger.info('The rotation version already holds the staged credentials (a retried rotation)');
      return;
    }
    const stagedVersion = stages.versionWith(STAGED_LABEL);
    if (!stagedVersion) {
      throw new RotationNotStagedError(
        `createSecret: no credentials are staged (no version carries the ${STAGED_LABEL} label). ` +
          `ThroughLine issues credentials only in its dashboard, so a rotation cannot create them: ${STAGE_HOW_TO}. ${CURRENT_UNCHANGED}`,
      );
    }
    const staged = await this.readVersion(stagedVersion);
    if (!staged) throw this.notStaged(stagedVersion, 'createSecret');
    const credentials = this.parseStaged(staged, `the staged version ${stagedVersion}`);
    this.requireChanged(credentials, current, `the staged version ${stagedVersion}`);
    await this.deps.secrets.send(
      new PutSecretValueCommand({
        SecretId: this.deps.secretArn,
        ClientRequestToken: token,
        SecretString: staged.secretString,
        VersionStages: [Stage.Pending],
        ...(rotationToken ? { RotationToken: rotationToken } : {}),
      }),
    );
    logger.info('Staged credentials copied into the rotation version', {
      stagedVersionId: stagedVersion,
      sameClientIdAsCurrent: current?.clientId === credentials.clientId,
    });
  }

  /** ThroughLine has no API for setting credentials: the new pair already exists there. */
  private async setSecret(token: string, { stages }: SecretDescription): Promise<void> {
    if (stages.has(token, Stage.Current)) return;
    this.requirePending(token, stages, 'setSecret');
    this.deps.logger.info('Nothing to set: ThroughLine issued these credentials in its dashboard');
  }

  /** Mints a real token with the rotation version's credentials; the token is dropped, the cache untouched. */
  private async testSecret(
    token: string,
    { stages, tags }: SecretDescription,
    deadlineMs: number,
  ): Promise<void> {
    const { logger } = this.deps;
    if (stages.has(token, Stage.Current)) {
      logger.info('This version is already AWSCURRENT: nothing left to test');
      return;
    }
    let staged: StoredCredentials;
    try {
      this.requirePending(token, stages, 'testSecret');
      const value = await this.readVersion(token, Stage.Pending);
      if (!value) throw this.notStaged(token, 'testSecret');
      staged = this.parseStaged(value, `version ${token}`);
    } catch (error) {
      // Secrets Manager tests the configuration when the rotation schedule is created without rotating
      // (RotateImmediately=false) by running testSecret alone on a temporary AWSPENDING version. On a new
      // stack the secret is empty, so that version holds nothing (or, on older stacks, a copy of the
      // deploy-time placeholder): there is nothing to mint with, and failing would fail the deploy. A real
      // rotation ran createSecret for this token first, which records its progress, so it never takes
      // this path: it fails instead.
      const configurationTest = !this.stepRecorded(tags, token, 'createSecret');
      if (
        configurationTest &&
        (error instanceof RotationNotStagedError ||
          error instanceof RotationAbandonedError ||
          error instanceof StagedCredentialsInvalidError)
      ) {
        logger.warn('Configuration test without usable credentials staged: nothing to mint with yet', {
          error: errorFields(error),
        });
        return;
      }
      throw error;
    }
    try {
      const result = await checkCredentials(staged, this.deps.settings, deadlineMs, this.now);
      logger.info('ThroughLine issued a token for the staged credentials (token discarded)', { ...result });
    } catch (error) {
      if (!(error instanceof BrokerError)) throw error;
      throw new StagedCredentialsTestFailedError(
        error.retryable
          ? `The staged credentials (version ${token}) could not be tested: ${error.message}. ${CURRENT_UNCHANGED} Secrets Manager retries the rotation; or run \`credentials rotate\` again when the token endpoint is reachable.`
          : `ThroughLine did not issue a token for the staged credentials (version ${token}): ${error.message}. ${CURRENT_UNCHANGED} Check that you copied the new application's client id and secret, then run \`credentials rotate\` again.`,
        error.name,
        error.retryable,
      );
    }
  }

  /**
   * Moves AWSCURRENT to the tested version (Secrets Manager moves AWSPREVIOUS to the old one), removes
   * AWSPENDING and the staged label, then has mint-token refresh the cache: its entry records the
   * credential version, so a plain refresh mints with the new credentials at once, and callers stop
   * getting tokens of the old pair. Each part is skipped when already done, so a retry only re-checks.
   */
  private async finishSecret(token: string, { stages }: SecretDescription): Promise<void> {
    const { logger, metrics } = this.deps;
    const current = stages.versionWith(Stage.Current);
    // Checked before the read: an abandoned rotation's version has lost its labels, and what reading
    // an unlabelled version answers is not documented.
    if (current !== token) this.requirePending(token, stages, 'finishSecret');
    const value = await this.readVersion(token);
    if (current !== token) {
      if (!value) throw this.notStaged(token, 'finishSecret');
      // Never promote something testSecret could not have proved.
      this.parseStaged(value, `version ${token}`);
      await this.versions.promote(token, current);
      metrics.addMetric(MetricName.CredentialsRotated, MetricUnit.Count, 1);
      logger.info('New credentials promoted to AWSCURRENT', { previousVersionId: current ?? null });
    }
    if (await this.versions.removeStage(Stage.Pending, token)) logger.info('AWSPENDING removed');
    await this.releaseStagedLabel(token, value);

    let cached: TokenMetadata;
    try {
      cached = await this.deps.refreshCache({ action: 'refresh', requestedBy: 'rotation' });
    } catch (error) {
      throw new CacheRefreshAfterRotationError(
        `The new credentials (version ${token}) are AWSCURRENT, but refreshing the token cache failed (${(error as Error).name}): ` +
          'the token of the old credentials may still be served until it is refreshed. Secrets Manager retries finishSecret; or run `npm run broker -- token refresh`.',
      );
    }
    if (cached.credentialVersionId !== token) {
      throw new CacheRefreshAfterRotationError(
        `The new credentials (version ${token}) are AWSCURRENT, but the token cache holds a token of version ${cached.credentialVersionId}. Run \`npm run broker -- token refresh --force\`.`,
      );
    }
    logger.info('Token cache refreshed with the new credentials', { token: cached });
  }

  /**
   * Removes THROUGHLINE_STAGED from the version it was copied from, so the next rotation cannot pick up
   * this pair again. A version holding a different value was staged later by an operator: left alone.
   */
  private async releaseStagedLabel(token: string, value: VersionValue | undefined): Promise<void> {
    const { stages } = await this.versions.describe();
    const stagedVersion = stages.versionWith(STAGED_LABEL);
    if (!stagedVersion) return;
    if (stagedVersion !== token) {
      const staged = await this.readVersion(stagedVersion);
      if (staged && value && staged.secretString !== value.secretString) {
        this.deps.logger.warn(
          'Other credentials are staged (a later `credentials rotate`): label left in place',
          {
            stagedVersionId: stagedVersion,
          },
        );
        return;
      }
    }
    if (await this.versions.removeStage(STAGED_LABEL, stagedVersion)) {
      this.deps.logger.info(`${STAGED_LABEL} removed`, { stagedVersionId: stagedVersion });
    }
  }

  /** Whether this function recorded `step` of rotation `token` as done (see rotation-progress.ts). */
  private stepRecorded(tags: Readonly<Record<string, string>>, token: string, step: RotationStep): boolean {
    const progress = parseProgress(tags[ROTATION_PROGRESS_TAG]);
    if (!progress || progress.token !== token) return false;
    const order = ROTATION_STEPS.indexOf(progress.step);
    return progress.status === 'done'
      ? order >= ROTATION_STEPS.indexOf(step)
      : order > ROTATION_STEPS.indexOf(step);
  }

  /**
   * Secrets Manager creates the rotation's version with AWSPENDING before the first step. A version
   * without it (and not AWSCURRENT) is no rotation in progress: it was abandoned — a new version of the
   * secret was written during the rotation, and Secrets Manager removed AWSPENDING — or an operator
   * released it, or Secrets Manager never created it (a hand-made event). A version left with no label
   * is not even listed any more (DescribeSecret lists versions "that have staging labels attached"),
   * so the three cannot be told apart; none may be promoted.
   */
  private requirePending(token: string, stages: VersionStages, step: RotationStep): void {
    if (stages.has(token, Stage.Pending)) return;
    throw new RotationAbandonedError(
      `${step}: version ${token} does not carry AWSPENDING, so it is no rotation in progress: the rotation was abandoned (a new version of the secret was written during it), its label was released, or Secrets Manager never created it. Nothing was promoted. Start a new rotation with \`npm run broker -- credentials rotate\`. ${CURRENT_UNCHANGED}`,
    );
  }

  private notStaged(token: string, step: RotationStep): RotationNotStagedError {
    return new RotationNotStagedError(
      `${step}: version ${token} holds no credentials. ` +
        `ThroughLine issues credentials only in its dashboard, so a rotation cannot create them: ${STAGE_HOW_TO}. ${CURRENT_UNCHANGED}`,
    );
  }

  /** The current credentials, or undefined when there are none usable (empty secret, placeholder, broken). */
  private async currentOrUndefined(): Promise<StoredCredentials | undefined> {
    return this.store.read({ stage: Stage.Current }).catch((error: unknown) => {
      if (error instanceof CredentialsNotSetError || error instanceof CredentialsMalformedError)
        return undefined;
      throw error;
    });
  }

  private requireChanged(
    staged: StoredCredentials,
    current: StoredCredentials | undefined,
    which: string,
  ): void {
    if (current && current.clientId === staged.clientId && current.clientSecret === staged.clientSecret) {
      throw new StagedCredentialsUnchangedError(
        `The credentials in ${which} are the ones already in use (version ${current.versionId}): ` +
          `create a new application in ThroughLine's dashboard and stage its credentials. ${CURRENT_UNCHANGED}`,
      );
    }
  }

  /**
   * Reads one version's value (optionally requiring a label). A version with no value answers
   * ResourceNotFoundException: that is how the rotation's version looks until createSecret writes it
   * (DescribeSecret VersionIdsToStages: "Secrets Manager creates an AWSPENDING version ID before
   * creating the new secret version. To check if a secret version exists, call GetSecretValue.").
   */
  private async readVersion(versionId: string, stage?: Stage): Promise<VersionValue | undefined> {
    try {
      const result = await this.deps.secrets.send(
        new GetSecretValueCommand({
          SecretId: this.deps.secretArn,
          VersionId: versionId,
          ...(stage ? { VersionStage: stage } : {}),
        }),
      );
      return { secretString: result.SecretString, result };
    } catch (error) {
      if (error instanceof ResourceNotFoundException) return undefined;
      throw error;
    }
  }

  private parseStaged(value: VersionValue, which: string): StoredCredentials {
    try {
      return parseCredentials(value.secretString, {
        secretId: this.deps.secretArn,
        which,
        versionId: value.result.VersionId,
        createdDate: value.result.CreatedDate,
      });
    } catch (error) {
      if (error instanceof CredentialsNotSetError || error instanceof CredentialsMalformedError) {
        throw new StagedCredentialsInvalidError(
          `The credentials in ${which} are unusable: ${error.message}. ${CURRENT_UNCHANGED}`,
        );
      }
      throw error;
    }
  }

  private async describeOwnSecret(secretId: string): Promise<SecretDescription> {
    const description =
      secretId === this.deps.secretArn
        ? await this.versions.describe()
        : await new SecretVersions(this.deps.secrets, secretId).describe();
    if (description.arn !== this.deps.secretArn) {
      throw new WrongSecretError(
        `This function rotates only the broker's credentials secret ${this.deps.secretArn}, not ${description.arn}`,
      );
    }
    return description;
  }

  private async progress(
    token: string,
    step: RotationStep,
    status: 'done' | 'failed',
    error?: unknown,
  ): Promise<void> {
    await recordProgress(this.deps.secrets, this.deps.secretArn, {
      token,
      step,
      status,
      ...(error instanceof Error ? { error: error.name } : {}),
      ...(error instanceof StagedCredentialsTestFailedError ? { upstreamError: error.upstreamError } : {}),
      ...(status === 'failed' ? { retryable: isRetryable(error) } : {}),
      at: new Date(this.now()).toISOString(),
    });
  }
}
