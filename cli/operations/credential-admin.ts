import { randomUUID } from 'node:crypto';
import {
  ListSecretVersionIdsCommand,
  PutSecretValueCommand,
  RotateSecretCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import type { ClientCredentials } from '../../lambda/core/oauth-client';
import type { RotationStep } from '../../lambda/core/rotation/rotation-event';
import {
  parseProgress,
  ROTATION_PROGRESS_TAG,
  type RotationProgress,
} from '../../lambda/core/rotation/rotation-progress';
import { SecretVersions, Stage } from '../../lambda/core/rotation/secret-versions';
import { toSecretString } from '../credentials-input';

/** An operator request that the secret's current state does not allow; the message says why and what to do. */
export class CredentialAdminError extends Error {
  override readonly name = 'CredentialAdminError';
}

export interface CredentialVersionInfo {
  readonly versionId: string;
  readonly stages: readonly string[];
  readonly createdDate: Date | undefined;
  readonly lastAccessedDate: Date | undefined;
}

export interface CredentialStatus {
  readonly secretArn: string;
  readonly versions: readonly CredentialVersionInfo[];
  readonly currentVersionId: string | undefined;
  readonly rotationFunctionArn: string | undefined;
  readonly lastRotatedDate: Date | undefined;
  readonly lastRotationProgress: RotationProgress | undefined;
}

export type RotationOutcome =
  | { readonly result: 'succeeded'; readonly token: string; readonly previousVersionId: string | undefined }
  | { readonly result: 'failed'; readonly token: string; readonly failure: RotationProgress }
  | {
      readonly result: 'timed-out';
      readonly token: string;
      readonly lastProgress: RotationProgress | undefined;
    };

export interface CredentialAdminOptions {
  readonly pollIntervalMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => number;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * What an operator does to the credentials secret: put the first value in, stage new credentials and
 * start a rotation, watch it, roll back, and inspect versions. Reads staging labels and metadata
 * only — the operator's identity cannot read the value (the secret's policy denies it), and nothing
 * here needs to.
 */
export class CredentialAdmin {
  private readonly versions: SecretVersions;
  private readonly pollIntervalMs: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => number;

  constructor(
    private readonly secrets: SecretsManagerClient,
    readonly secretArn: string,
    options: CredentialAdminOptions = {},
  ) {
    this.versions = new SecretVersions(secrets, secretArn);
    this.pollIntervalMs = options.pollIntervalMs ?? 2_000;
    this.sleep = options.sleep ?? defaultSleep;
    this.now = options.now ?? Date.now;
  }

  /**
   * Puts the first real credentials in as AWSCURRENT (replacing the deploy-time placeholder). Once
   * credentials have been set, new ones go through `rotate`, which tests them before use; `replace`
   * overrides that for an operator who knows the current ones are unusable anyway.
   */
  async setInitial(credentials: ClientCredentials, replace: boolean): Promise<string> {
    const versions = await this.listVersions();
    if (versions.length > 1 && !replace) {
      throw new CredentialAdminError(
        `Credentials have been put into ${this.secretArn} before (${versions.length} versions). ` +
          'Use `credentials rotate` to test and promote new ones without interrupting callers, or ' +
          '`credentials set --replace` to overwrite AWSCURRENT untested.',
      );
    }
    const versionId = randomUUID();
    await this.secrets.send(
      new PutSecretValueCommand({
        SecretId: this.secretArn,
        ClientRequestToken: versionId,
        SecretString: toSecretString(credentials),
      }),
    );
    return versionId;
  }

  /**
   * Stages new credentials as AWSPENDING under a fresh ClientRequestToken. A leftover AWSPENDING from
   * a failed rotation is released first: Secrets Manager refuses a new rotation while one is pending.
   * Returns the token and the version whose AWSPENDING label was released, if any.
   */
  async stage(
    credentials: ClientCredentials,
  ): Promise<{ token: string; releasedPending: string | undefined }> {
    const { stages } = await this.versions.describe();
    const pending = stages.versionWith(Stage.Pending);
    let releasedPending: string | undefined;
    if (pending && !stages.has(pending, Stage.Current)) {
      await this.versions.removeStage(Stage.Pending, pending);
      releasedPending = pending;
    }
    const token = randomUUID();
    await this.secrets.send(
      new PutSecretValueCommand({
        SecretId: this.secretArn,
        ClientRequestToken: token,
        SecretString: toSecretString(credentials),
        VersionStages: [Stage.Pending],
      }),
    );
    return { token, releasedPending };
  }

  /** Asks Secrets Manager to run the attached rotation function for the staged version `token`. */
  async startRotation(token: string): Promise<void> {
    await this.secrets.send(
      new RotateSecretCommand({
        SecretId: this.secretArn,
        ClientRequestToken: token,
        RotateImmediately: true,
      }),
    );
  }

  /**
   * Waits for the rotation of `token` to finish, calling `onStep` once per completed step as the
   * rotation function records it. Ends at finishSecret done (and AWSCURRENT on `token`), at the first
   * failed step, or at the timeout.
   */
  async waitForRotation(
    token: string,
    timeoutMs: number,
    onStep: (progress: RotationProgress) => void,
  ): Promise<RotationOutcome> {
    const deadline = this.now() + timeoutMs;
    const reported = new Set<RotationStep>();
    let last: RotationProgress | undefined;
    for (;;) {
      const { stages, tags } = await this.versions.describe();
      const progress = parseProgress(tags[ROTATION_PROGRESS_TAG]);
      if (progress && progress.token === token) {
        last = progress;
        if (progress.status === 'failed') return { result: 'failed', token, failure: progress };
        if (!reported.has(progress.step)) {
          reported.add(progress.step);
          onStep(progress);
        }
        if (progress.step === 'finishSecret' && stages.has(token, Stage.Current)) {
          return { result: 'succeeded', token, previousVersionId: stages.versionWith(Stage.Previous) };
        }
      }
      if (this.now() >= deadline) return { result: 'timed-out', token, lastProgress: last };
      await this.sleep(Math.min(this.pollIntervalMs, Math.max(0, deadline - this.now())));
    }
  }

  /**
   * Moves AWSCURRENT back to the AWSPREVIOUS version (Secrets Manager then marks the version it left as
   * AWSPREVIOUS, so a second rollback undoes the first). Returns both version ids.
   */
  async rollback(): Promise<{ restored: string; replaced: string }> {
    const { stages } = await this.versions.describe();
    const current = stages.versionWith(Stage.Current);
    const previous = stages.versionWith(Stage.Previous);
    if (!current || !previous) {
      throw new CredentialAdminError(
        `There is no ${current ? 'AWSPREVIOUS' : 'AWSCURRENT'} version of ${this.secretArn} to roll back ${current ? 'to' : 'from'}: ` +
          'rollback needs a completed rotation (or a second `credentials set`). See `credentials status`.',
      );
    }
    await this.versions.promote(previous, current);
    return { restored: previous, replaced: current };
  }

  async status(): Promise<CredentialStatus> {
    const [description, versions] = await Promise.all([this.versions.describe(), this.listVersions()]);
    return {
      secretArn: description.arn,
      versions,
      currentVersionId: description.stages.versionWith(Stage.Current),
      rotationFunctionArn: description.raw.RotationLambdaARN || undefined,
      lastRotatedDate: description.raw.LastRotatedDate,
      lastRotationProgress: parseProgress(description.tags[ROTATION_PROGRESS_TAG]),
    };
  }

  private async listVersions(): Promise<CredentialVersionInfo[]> {
    const versions: CredentialVersionInfo[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.secrets.send(
        new ListSecretVersionIdsCommand({
          SecretId: this.secretArn,
          NextToken: nextToken,
          IncludeDeprecated: false,
        }),
      );
      for (const v of page.Versions ?? []) {
        if (!v.VersionId) continue;
        versions.push({
          versionId: v.VersionId,
          stages: v.VersionStages ?? [],
          createdDate: v.CreatedDate,
          lastAccessedDate: v.LastAccessedDate,
        });
      }
      nextToken = page.NextToken;
    } while (nextToken);
    return versions.sort((a, b) => (b.createdDate?.getTime() ?? 0) - (a.createdDate?.getTime() ?? 0));
  }
}
