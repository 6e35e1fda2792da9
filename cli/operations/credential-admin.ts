import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import {
  ListSecretVersionIdsCommand,
  PutSecretValueCommand,
  RotateSecretCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { type ClientCredentials, STAGED_LABEL, Stage } from '../../contract/credentials-secret';
import {
  parseProgress,
  ROTATION_PROGRESS_TAG,
  type RotationProgress,
} from '../../contract/rotation-progress';
import { SecretVersions } from '../../lambda/aws/secret-versions';
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
  | {
      readonly result: 'succeeded';
      readonly versionId: string;
      readonly previousVersionId: string | undefined;
    }
  /** A step failed with an error no retry can fix (the function recorded retryable=false). */
  | { readonly result: 'failed'; readonly versionId: string; readonly failure: RotationProgress }
  /** The version lost AWSPENDING without becoming AWSCURRENT: a new version was written mid-rotation, or it was released. */
  | {
      readonly result: 'abandoned';
      readonly versionId: string;
      readonly lastProgress: RotationProgress | undefined;
    }
  | {
      readonly result: 'timed-out';
      readonly versionId: string;
      readonly lastProgress: RotationProgress | undefined;
      /** The last recorded step failed retryably: Secrets Manager is retrying the whole rotation. */
      readonly retrying: boolean;
      /** The version is already AWSCURRENT (finishSecret's cache refresh is what is left). */
      readonly promoted: boolean;
    };

/** What the CLI found and did about an AWSPENDING label on a non-current version before staging. */
export type LeftoverPending =
  | { readonly kind: 'none' }
  | { readonly kind: 'released'; readonly versionId: string; readonly why: string }
  | { readonly kind: 'in-progress'; readonly versionId: string; readonly why: string };

/** Secrets Manager refused RotateSecret because a rotation is still in progress (it will retry that one). */
export class RotationInProgressError extends Error {
  override readonly name = 'RotationInProgressError';
}

/** Step events while waiting for a rotation. */
export interface RotationWatcher {
  readonly onStep: (progress: RotationProgress) => void;
  /** A step failed retryably; Secrets Manager retries the whole rotation. */
  readonly onRetrying?: (progress: RotationProgress) => void;
}

/**
 * A rotation with no recorded activity for this long is not running: Secrets Manager's retries of a
 * failed rotation and every step (Lambda timeout ≤ 2 × the upstream budget + 30 s) happen well within it.
 */
export const ROTATION_STALE_AFTER_MS = 15 * 60_000;

export interface CredentialAdminOptions {
  readonly pollIntervalMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => number;
}

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
    this.sleep = options.sleep ?? delay;
    this.now = options.now ?? Date.now;
  }

  /**
   * Puts the first real credentials in as AWSCURRENT (into the empty secret, or over an older stack's
   * deploy-time placeholder). Once
   * credentials have been set, new ones go through `rotate`, which tests them before use; `replace`
   * overrides that for an operator who knows the current ones are unusable anyway.
   */
  async setInitial(
    credentials: ClientCredentials,
    replace: boolean,
    inUse: (versionId: string) => Promise<boolean> = async () => true,
  ): Promise<string> {
    const versions = await this.listVersions();
    // The secret is created empty. Stacks deployed by older releases hold one generated placeholder
    // version instead; it may be replaced like an empty secret when nothing was ever minted with it
    // (`inUse`: the token cache holds a token of that version).
    const current = versions.find((v) => v.stages.includes(Stage.Current));
    const deployPlaceholder =
      versions.length === 1 && current !== undefined && !(await inUse(current.versionId));
    if (current && !deployPlaceholder && !replace) {
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
   * Looks for an AWSPENDING label on a version other than AWSCURRENT: Secrets Manager treats that as a
   * rotation in progress and refuses RotateSecret (RotateSecret API reference). It is released — the
   * documented clean-up: UpdateSecretVersionStage removing AWSPENDING from that version — when the
   * rotation is over: its last recorded step failed, or nothing happened for ROTATION_STALE_AFTER_MS.
   * A rotation that is still running is left alone (the caller says what to run).
   */
  async releaseLeftoverPending(): Promise<LeftoverPending> {
    const { stages, tags } = await this.versions.describe();
    const pendingVersionId = stages.versionWith(Stage.Pending);
    if (!pendingVersionId || stages.has(pendingVersionId, Stage.Current)) return { kind: 'none' };
    const progress = parseProgress(tags[ROTATION_PROGRESS_TAG]);
    const mine = progress?.token === pendingVersionId ? progress : undefined;
    const lastActivity = mine ? Date.parse(mine.at) : await this.createdMs(pendingVersionId);
    const idleMs =
      lastActivity === undefined || Number.isNaN(lastActivity) ? Infinity : this.now() - lastActivity;
    let why: string | undefined;
    if (mine?.status === 'failed')
      why = `its ${mine.step} step failed (${mine.error ?? 'error'}${mine.upstreamError ? `/${mine.upstreamError}` : ''})`;
    else if (idleMs >= ROTATION_STALE_AFTER_MS)
      why = `nothing was recorded for it for ${Math.round(idleMs / 60_000)} min`;
    if (!why) {
      return {
        kind: 'in-progress',
        versionId: pendingVersionId,
        why: mine ? `its ${mine.step} step finished at ${mine.at}` : 'it was started moments ago',
      };
    }
    await this.versions.removeStage(Stage.Pending, pendingVersionId);
    return { kind: 'released', versionId: pendingVersionId, why };
  }

  /**
   * Writes new credentials as a new version under THROUGHLINE_STAGED (not AWSPENDING), so AWSCURRENT
   * stays where it is ("If you don't include VersionStages, then Secrets Manager automatically moves the
   * staging label AWSCURRENT to this version" — we include one) and no rotation looks in progress.
   * Staging again moves the label to the newer version. Returns the staged version's id.
   */
  async stage(credentials: ClientCredentials): Promise<string> {
    const { stages } = await this.versions.describe();
    if (!stages.versionWith(Stage.Current)) {
      // PutSecretValue on a secret without versions makes its first version AWSCURRENT whatever the labels
      // (PutSecretValue API reference): there is nothing to rotate from.
      throw new CredentialAdminError(
        `No credentials have been put into ${this.secretArn} yet: use \`credentials set\` for the first ones.`,
      );
    }
    const versionId = randomUUID();
    await this.secrets.send(
      new PutSecretValueCommand({
        SecretId: this.secretArn,
        ClientRequestToken: versionId,
        SecretString: toSecretString(credentials),
        VersionStages: [STAGED_LABEL],
      }),
    );
    return versionId;
  }

  /**
   * Starts a rotation. No ClientRequestToken of ours: Secrets Manager creates the rotation's own version
   * (with AWSPENDING and no value) and returns its id ("VersionId: The ID of the new version of the
   * secret", RotateSecret API reference). A refusal because a rotation is in progress becomes
   * RotationInProgressError: Secrets Manager says "That rotation will be reattempted", so nothing failed.
   */
  async startRotation(): Promise<string> {
    let versionId: string | undefined;
    try {
      ({ VersionId: versionId } = await this.secrets.send(
        new RotateSecretCommand({ SecretId: this.secretArn, RotateImmediately: true }),
      ));
    } catch (error) {
      const e = error as Error;
      if (e.name === 'InvalidRequestException' && /previous rotation isn.t complete/i.test(e.message)) {
        throw new RotationInProgressError(e.message);
      }
      throw error;
    }
    if (!versionId) throw new Error('RotateSecret returned no VersionId');
    return versionId;
  }

  /** Removes AWSPENDING from `versionId` if it still has it (a rotation that cannot succeed). */
  async releasePending(versionId: string): Promise<boolean> {
    const { stages } = await this.versions.describe();
    if (stages.has(versionId, Stage.Current)) return false;
    return this.versions.removeStage(Stage.Pending, versionId);
  }

  /** AWSCURRENT's version id now. */
  async currentVersionId(): Promise<string | undefined> {
    return (await this.versions.describe()).stages.versionWith(Stage.Current);
  }

  /**
   * Waits for the rotation of version `versionId` to finish, reporting each completed step as the
   * rotation function records it. Ends at finishSecret done with AWSCURRENT on `versionId`, at a failure
   * no retry can fix, when the version loses AWSPENDING without becoming AWSCURRENT (abandoned), or at
   * the timeout. A retryable failure is reported and waited through: Secrets Manager retries the whole
   * rotation.
   */
  async waitForRotation(
    versionId: string,
    timeoutMs: number,
    watcher: RotationWatcher,
  ): Promise<RotationOutcome> {
    const deadline = this.now() + timeoutMs;
    const reported = new Set<string>();
    let last: RotationProgress | undefined;
    for (;;) {
      const { stages, tags } = await this.versions.describe();
      const progress = parseProgress(tags[ROTATION_PROGRESS_TAG]);
      const promoted = stages.has(versionId, Stage.Current);
      if (progress && progress.token === versionId) {
        last = progress;
        const key = `${progress.step} ${progress.status} ${progress.at}`;
        if (progress.status === 'failed') {
          if (progress.retryable === false) return { result: 'failed', versionId, failure: progress };
          if (!reported.has(key)) {
            reported.add(key);
            watcher.onRetrying?.(progress);
          }
        } else if (!reported.has(`${progress.step} done`)) {
          reported.add(`${progress.step} done`);
          watcher.onStep(progress);
        }
        if (progress.step === 'finishSecret' && progress.status === 'done' && promoted) {
          return { result: 'succeeded', versionId, previousVersionId: stages.versionWith(Stage.Previous) };
        }
      }
      if (!promoted && !stages.has(versionId, Stage.Pending))
        return { result: 'abandoned', versionId, lastProgress: last };
      if (this.now() >= deadline) {
        return {
          result: 'timed-out',
          versionId,
          lastProgress: last,
          retrying: last?.status === 'failed',
          promoted,
        };
      }
      await this.sleep(Math.min(this.pollIntervalMs, Math.max(0, deadline - this.now())));
    }
  }

  /**
   * Moves AWSCURRENT back to the AWSPREVIOUS version (Secrets Manager then marks the version it left as
   * AWSPREVIOUS, so a second rollback undoes the first). Returns both version ids.
   */
  async rollback(): Promise<{ restored: string; replaced: string }> {
    const { stages } = await this.versions.describe();
    const currentVersionId = stages.versionWith(Stage.Current);
    const pendingVersionId = stages.versionWith(Stage.Pending);
    if (pendingVersionId && pendingVersionId !== currentVersionId) {
      throw new CredentialAdminError(
        `A rotation of ${this.secretArn} is in progress (version ${pendingVersionId} holds AWSPENDING): rolling back now would race it. ` +
          'Wait for it (`credentials status`), or release it as docs/runbooks/rotation-failed.md describes, then roll back.',
      );
    }
    const previousVersionId = stages.versionWith(Stage.Previous);
    if (!currentVersionId || !previousVersionId) {
      throw new CredentialAdminError(
        `There is no ${currentVersionId ? 'AWSPREVIOUS' : 'AWSCURRENT'} version of ${this.secretArn} to roll back ${currentVersionId ? 'to' : 'from'}: ` +
          'rollback needs a completed rotation (or a second `credentials set`). See `credentials status`.',
      );
    }
    await this.versions.promote(previousVersionId, currentVersionId);
    return { restored: previousVersionId, replaced: currentVersionId };
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

  private async createdMs(versionId: string): Promise<number | undefined> {
    const version = (await this.listVersions()).find((v) => v.versionId === versionId);
    return version?.createdDate?.getTime();
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
