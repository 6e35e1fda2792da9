import type { Logger } from '@aws-lambda-powertools/logger';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import {
  GetSecretValueCommand,
  type GetSecretValueCommandOutput,
  ResourceNotFoundException,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { CredentialStore, parseCredentials, type StoredCredentials } from '../credential-store';
import { BrokerError, CredentialsMalformedError, CredentialsNotSetError } from '../errors';
import { MetricName, STEP_DIMENSION } from '../metric-names';
import type { MintTokenRequest } from '../mint-token-request';
import type { BrokerSettings } from '../settings';
import { errorFields } from '../token-minter';
import type { TokenMetadata } from '../token-record';
import { checkCredentials } from './credential-check';
import {
  CacheRefreshAfterRotationError,
  RotationNotStagedError,
  StagedCredentialsInvalidError,
  StagedCredentialsTestFailedError,
  StagedCredentialsUnchangedError,
  WrongSecretError,
} from './rotation-errors';
import { ROTATION_STEPS, type RotationEvent, type RotationStep } from './rotation-event';
import { parseProgress, ROTATION_PROGRESS_TAG, recordProgress } from './rotation-progress';
import { type SecretDescription, SecretVersions, Stage } from './secret-versions';

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

/**
 * Secrets Manager's four rotation steps for ThroughLine client credentials. ThroughLine has no API
 * to issue credentials, so the new pair is one an operator created in ThroughLine's dashboard and
 * staged as AWSPENDING under the rotation's ClientRequestToken. Every step is keyed by that token and
 * can run any number of times; only finishSecret writes AWSCURRENT, and only after testSecret proved
 * the new credentials, so every earlier failure leaves the credentials in use untouched.
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
    try {
      const description = await this.describeOwnSecret(event.SecretId);
      await this.step(event.Step, token, description, deadlineMs);
      logger.info('Rotation step done');
    } catch (error) {
      const single = this.deps.metrics.singleMetric();
      single.addDimension(STEP_DIMENSION, event.Step);
      single.addMetric(MetricName.RotationStepFailed, MetricUnit.Count, 1);
      logger.error('Rotation step failed', { error: errorFields(error) });
      if (!(error instanceof WrongSecretError)) {
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
    step: RotationStep,
    token: string,
    description: SecretDescription,
    deadlineMs: number,
  ): Promise<void> {
    switch (step) {
      case 'createSecret':
        return this.createSecret(token, description);
      case 'setSecret':
        return this.setSecret(token, description);
      case 'testSecret':
        return this.testSecret(token, description, deadlineMs);
      case 'finishSecret':
        return this.finishSecret(token, description);
    }
  }

  /**
   * Nothing is generated here: ThroughLine credentials come from its dashboard. The step checks that
   * the operator staged a usable pair under this token and that it differs from the current pair.
   */
  private async createSecret(token: string, { stages }: SecretDescription): Promise<void> {
    if (stages.has(token, Stage.Current)) {
      this.deps.logger.info('This version is already AWSCURRENT: the rotation finished earlier');
      return;
    }
    this.requirePending(token, stages.has(token, Stage.Pending), 'createSecret');
    const staged = await this.readStaged(token, 'createSecret');
    const current = await this.store.read({ stage: Stage.Current }).catch((error: unknown) => {
      // The deploy-time placeholder or a broken value: any valid staged pair is an improvement.
      if (error instanceof CredentialsNotSetError || error instanceof CredentialsMalformedError)
        return undefined;
      throw error;
    });
    if (current && current.clientId === staged.clientId && current.clientSecret === staged.clientSecret) {
      throw new StagedCredentialsUnchangedError(
        `The credentials staged as version ${token} are the ones already in use (version ${current.versionId}): ` +
          `create a new application in ThroughLine's dashboard and stage its credentials. ${CURRENT_UNCHANGED}`,
      );
    }
    this.deps.logger.info('Staged credentials found and well-formed', {
      sameClientIdAsCurrent: current?.clientId === staged.clientId,
    });
  }

  /** ThroughLine has no API for setting credentials: the new pair already exists there. */
  private async setSecret(token: string, { stages }: SecretDescription): Promise<void> {
    if (stages.has(token, Stage.Current)) return;
    this.requirePending(token, stages.has(token, Stage.Pending), 'setSecret');
    this.deps.logger.info('Nothing to set: ThroughLine issued these credentials in its dashboard');
  }

  /** Mints a real token with the staged credentials; the token is dropped and the cache untouched. */
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
    this.requirePending(token, stages.has(token, Stage.Pending), 'testSecret');
    let staged: StoredCredentials;
    try {
      staged = await this.readStaged(token, 'testSecret');
    } catch (error) {
      // Secrets Manager tests the configuration when the rotation schedule is created without rotating
      // (RotateImmediately=false): it runs testSecret alone on a temporary AWSPENDING version — on a
      // new stack a copy of the deploy-time placeholder. There is nothing to mint with yet, and failing
      // would fail the deploy. A real rotation ran createSecret for this token first, which rejects
      // unusable values and records its progress, so it never takes this path.
      const configurationTest = !this.stepRecorded(tags, token, 'createSecret');
      if (
        configurationTest &&
        (error instanceof RotationNotStagedError || error instanceof StagedCredentialsInvalidError)
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
          ? `The staged credentials (version ${token}) could not be tested: ${error.message}. ${CURRENT_UNCHANGED} Run the rotation again when the token endpoint is reachable.`
          : `ThroughLine did not issue a token for the staged credentials (version ${token}): ${error.message}. ${CURRENT_UNCHANGED} Check that you copied the new application's client id and secret, then stage them again.`,
        error.name,
        error.retryable,
      );
    }
  }

  /**
   * Moves AWSCURRENT to the tested version (Secrets Manager moves AWSPREVIOUS to the old one), removes
   * AWSPENDING, then has mint-token refresh the cache: its entry records the credential version, so
   * mint-token mints with the new credentials at once, and callers stop getting tokens of the old pair.
   */
  private async finishSecret(token: string, { stages }: SecretDescription): Promise<void> {
    const { logger, metrics } = this.deps;
    const current = stages.versionWith(Stage.Current);
    if (current !== token) {
      this.requirePending(token, stages.has(token, Stage.Pending), 'finishSecret');
      if (!current) {
        throw new RotationNotStagedError(
          `The secret has no AWSCURRENT version to replace; put the first credentials in with \`npm run broker -- credentials set\`.`,
        );
      }
      await this.versions.promote(token, current);
      metrics.addMetric(MetricName.CredentialsRotated, MetricUnit.Count, 1);
      logger.info('New credentials promoted to AWSCURRENT', { previousVersionId: current });
    }
    if (await this.versions.removeStage(Stage.Pending, token)) logger.info('AWSPENDING removed');

    let cached: TokenMetadata;
    try {
      cached = await this.deps.refreshCache({ action: 'refresh', requestedBy: 'rotation' });
    } catch (error) {
      throw new CacheRefreshAfterRotationError(
        `The new credentials (version ${token}) are AWSCURRENT, but refreshing the token cache failed (${(error as Error).name}): ` +
          'the token of the old credentials may still be served until it is refreshed. Run `npm run broker -- token refresh`.',
      );
    }
    if (cached.credentialVersionId !== token) {
      throw new CacheRefreshAfterRotationError(
        `The new credentials (version ${token}) are AWSCURRENT, but the token cache holds a token of version ${cached.credentialVersionId}. Run \`npm run broker -- token refresh --force\`.`,
      );
    }
    logger.info('Token cache refreshed with the new credentials', { token: cached });
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

  private requirePending(token: string, isPending: boolean, step: RotationStep): void {
    if (!isPending) throw this.notStaged(token, step);
  }

  private notStaged(token: string, step: RotationStep): RotationNotStagedError {
    return new RotationNotStagedError(
      `${step}: no credentials are staged for this rotation (no AWSPENDING version with id ${token}). ` +
        `ThroughLine issues credentials only in its dashboard, so a rotation cannot create them: ${STAGE_HOW_TO}. ${CURRENT_UNCHANGED}`,
    );
  }

  /**
   * Reads the staged version. A version with no value at all is what Secrets Manager leaves when a
   * rotation is started without staging credentials first: that is "not staged", not "malformed".
   */
  private async readStaged(token: string, step: RotationStep): Promise<StoredCredentials> {
    let result: GetSecretValueCommandOutput;
    try {
      result = await this.deps.secrets.send(
        new GetSecretValueCommand({ SecretId: this.deps.secretArn, VersionId: token }),
      );
    } catch (error) {
      throw error instanceof ResourceNotFoundException ? this.notStaged(token, step) : error;
    }
    try {
      return parseCredentials(result.SecretString, {
        secretId: this.deps.secretArn,
        which: `version ${token}`,
        versionId: result.VersionId,
        createdDate: result.CreatedDate,
      });
    } catch (error) {
      if (error instanceof CredentialsNotSetError || error instanceof CredentialsMalformedError) {
        throw new StagedCredentialsInvalidError(
          `The credentials staged as version ${token} are unusable: ${error.message}. ${CURRENT_UNCHANGED}`,
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
      at: new Date(this.now()).toISOString(),
    });
  }
}
