import {
  DescribeSecretCommand,
  type DescribeSecretCommandOutput,
  type SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { type STAGED_LABEL, Stage } from '../../contract/credentials-secret';

/** Labels that can be removed from a version (AWSCURRENT only moves, see `promote`). */
export type RemovableLabel = Exclude<Stage, 'AWSCURRENT'> | typeof STAGED_LABEL;

/** Which version holds which staging label: a snapshot from DescribeSecret (no secret value is read). */
export class VersionStages {
  constructor(readonly versionIdsToStages: Readonly<Record<string, readonly string[]>>) {}

  stagesOf(versionId: string): readonly string[] {
    return this.versionIdsToStages[versionId] ?? [];
  }

  has(versionId: string, stage: Stage | typeof STAGED_LABEL): boolean {
    return this.stagesOf(versionId).includes(stage);
  }

  /** The version holding `stage`, if any (each label is on at most one version). */
  versionWith(stage: Stage | typeof STAGED_LABEL): string | undefined {
    return Object.entries(this.versionIdsToStages).find(([, stages]) => stages.includes(stage))?.[0];
  }
}

export interface SecretDescription {
  readonly arn: string;
  readonly stages: VersionStages;
  readonly tags: Readonly<Record<string, string>>;
  readonly raw: DescribeSecretCommandOutput;
}

/**
 * Reads and moves the staging labels of the credentials secret. Used by the rotation function and
 * the operator CLI, which share the same rules: AWSCURRENT moves only with an explicit
 * RemoveFromVersionId (so Secrets Manager also moves AWSPREVIOUS), and removing a label that is
 * already gone is not an error (so every operation can run twice).
 */
export class SecretVersions {
  constructor(
    private readonly secrets: SecretsManagerClient,
    readonly secretId: string,
  ) {}

  async describe(): Promise<SecretDescription> {
    const raw = await this.secrets.send(new DescribeSecretCommand({ SecretId: this.secretId }));
    const tags: Record<string, string> = {};
    for (const tag of raw.Tags ?? []) if (tag.Key) tags[tag.Key] = tag.Value ?? '';
    const versionIdsToStages: Record<string, string[]> = {};
    for (const [id, stages] of Object.entries(raw.VersionIdsToStages ?? {})) versionIdsToStages[id] = stages;
    return { arn: raw.ARN ?? this.secretId, stages: new VersionStages(versionIdsToStages), tags, raw };
  }

  /**
   * Moves AWSCURRENT to `toVersionId`; Secrets Manager puts AWSPREVIOUS on the version it left
   * ("Whenever you move AWSCURRENT, Secrets Manager automatically moves the label AWSPREVIOUS to the
   * version that AWSCURRENT was removed from", UpdateSecretVersionStage API reference). Without a
   * current version (a secret created empty), AWSCURRENT is simply attached.
   */
  async promote(toVersionId: string, fromVersionId: string | undefined): Promise<void> {
    await this.secrets.send(
      new UpdateSecretVersionStageCommand({
        SecretId: this.secretId,
        VersionStage: Stage.Current,
        MoveToVersionId: toVersionId,
        ...(fromVersionId ? { RemoveFromVersionId: fromVersionId } : {}),
      }),
    );
  }

  /** Removes `stage` from `versionId` unless it is already gone. Returns whether a label was removed. */
  async removeStage(stage: RemovableLabel, versionId: string): Promise<boolean> {
    const { stages } = await this.describe();
    if (!stages.has(versionId, stage)) return false;
    await this.secrets.send(
      new UpdateSecretVersionStageCommand({
        SecretId: this.secretId,
        VersionStage: stage,
        RemoveFromVersionId: versionId,
      }),
    );
    return true;
  }
}
