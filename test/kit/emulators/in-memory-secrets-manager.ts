import { randomUUID } from 'node:crypto';
import {
  DescribeSecretCommand,
  type DescribeSecretCommandOutput,
  GetSecretValueCommand,
  type GetSecretValueCommandInput,
  type GetSecretValueCommandOutput,
  InvalidParameterException,
  InvalidRequestException,
  PutSecretValueCommand,
  type PutSecretValueCommandInput,
  type PutSecretValueCommandOutput,
  ResourceExistsException,
  ResourceNotFoundException,
  type SecretsManagerClient,
  TagResourceCommand,
  type TagResourceCommandInput,
  type TagResourceCommandOutput,
  UpdateSecretVersionStageCommand,
  type UpdateSecretVersionStageCommandInput,
  type UpdateSecretVersionStageCommandOutput,
} from '@aws-sdk/client-secrets-manager';

/**
 * Secrets Manager in memory, for unit tests of code that takes a `SecretsManagerClient`
 * (lambda/rotation/credential-rotation.ts and the adapters under it: lambda/aws/secret-versions.ts,
 * lambda/aws/credential-store.ts, lambda/rotation/progress-recorder.ts). `send(command)` takes the SDK's
 * own command objects — DescribeSecret, GetSecretValue, PutSecretValue, UpdateSecretVersionStage and
 * TagResource, the five operations that code sends — and throws the SDK's own exception classes. Any other
 * command is refused. Every call is recorded (operation and input, secret values redacted) so a test can
 * count AWS calls. No network, no real time (CreatedDate comes from the `now` it is given).
 *
 * It follows what AWS DOCUMENTS, like test/kit/emulators/secrets-manager-doc-strict.ts (which stands in
 * front of moto for the bundled handlers). Each rule below cites its source. Where the documentation
 * says nothing, contradicts itself, or says only "the operation fails" without naming the error, the
 * stand-in says so. For the undocumented cases it REFUSES with `UndocumentedCaseRefused`, a class AWS
 * never throws, so no production `catch` can mistake it for an AWS answer. Every refusal is also kept
 * in `refusals`. Code that depends on an undocumented case therefore fails here and does not pass by luck.
 *
 * API references (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_<Operation>.html):
 *
 * GetSecretValue
 * - Neither VersionId nor VersionStage: "Secrets Manager returns the AWSCURRENT version".
 * - A version with no value answers ResourceNotFoundException. That is the rotation's version until
 *   createSecret writes it: "During rotation, Secrets Manager creates an AWSPENDING version ID before
 *   creating the new secret version. To check if a secret version exists, call GetSecretValue."
 *   (DescribeSecret, VersionIdsToStages). moto PR #8504 verified against AWS that GetSecretValue of it
 *   throws ResourceNotFoundException. The same holds for an empty secret (no version, hence no AWSCURRENT)
 *   and for a label or version id the secret does not have ("Secrets Manager can't find the resource
 *   that you asked for", the exception's documentation).
 * - VersionId and VersionStage "must refer to the same secret version". The reference does not say
 *   what happens when they do not: REFUSED.
 * - A version left with no staging label "is considered to be 'deprecated' and can be deleted by
 *   Secrets Manager" (UpdateSecretVersionStage). Whether, and for how long, it can still be read is
 *   undocumented: REFUSED by default. Pass `unlabelledVersionReads: 'value' | 'not-found'` to play
 *   either plausible answer, and show the code is safe both ways.
 *
 * PutSecretValue
 * - ClientRequestToken: "If the ClientRequestToken value isn't already associated with a version of the
 *   secret then a new version of the secret is created." "If a version with this value already exists and
 *   that version's SecretString or SecretBinary values are the same as those in the request then the
 *   request is ignored. The operation is idempotent." If they are different, "the request fails because
 *   you can't modify a secret version". The reference does not name the error. ResourceExistsException
 *   ("A resource with the ID you requested already exists", one of PutSecretValue's declared errors) is
 *   what moto answers; the choice of class is an inference. Omitted, "The CLI or SDK generates a random
 *   UUID for you". This stand-in sits in front of the SDK's middleware, so it generates one itself.
 * - The rotation's own empty version (created by `openRotation`, as RotateSecret does) receives its value
 *   from PutSecretValue with the event's token and VersionStages [AWSPENDING]. That is what every AWS rotation
 *   template does (https://github.com/aws-samples/aws-secrets-manager-rotation-lambdas,
 *   SecretsManagerRotationTemplate/lambda_function.py, create_secret). Writing that version with other
 *   labels is undocumented: REFUSED.
 * - VersionStages: "If you specify a staging label that's already associated with a different version of
 *   the same secret, then Secrets Manager removes the label from the other version and attaches it to
 *   this version. If you specify AWSCURRENT, and it is already attached to another version, then Secrets
 *   Manager also moves the staging label AWSPREVIOUS to the version that AWSCURRENT was removed from. If
 *   you don't include VersionStages, then Secrets Manager automatically moves the staging label AWSCURRENT
 *   to this version." "If this operation creates the first version for the secret, then Secrets Manager
 *   automatically attaches the staging label AWSCURRENT to it."
 * - "You must include SecretBinary or SecretString, but not both": InvalidParameterException (the class is
 *   an inference). SecretBinary itself is not modelled (the broker stores JSON text): REFUSED.
 * - RotationToken "indicates the source of the request" ("Rotation by Lambda function", user guide). One
 *   that is not the rotation's own is answered InvalidRequestException, as the doc-strict stand-in
 *   answers. That is an inference: AWS does not document the check. A RotationToken on a write that
 *   belongs to no rotation is undocumented: REFUSED.
 * - Writing a NEW version while a rotation is in progress abandons it: "Secrets Manager abandons rotation
 *   when you create a new version of a secret during rotation" and "removes the AWSPENDING label"
 *   (RotationAbandoned,
 *   https://docs.aws.amazon.com/secretsmanager/latest/userguide/retrieve-ct-entries.html). The event is
 *   recorded in `events`.
 *
 * UpdateSecretVersionStage
 * - "Each staging label can be attached to only one version at a time." "Whenever you move AWSCURRENT,
 *   Secrets Manager automatically moves the label AWSPREVIOUS to the version that AWSCURRENT was removed
 *   from."
 * - RemoveFromVersionId: "If the staging label you are trying to attach to one version is already
 *   attached to a different version, then you must include this parameter and specify the version that
 *   the label is to be removed from. If the label is attached and you either do not specify this
 *   parameter, or the version ID does not match, then the operation fails." For AWSCURRENT this is an
 *   InvalidParameterException, with the message AWS sends (as moto reproduces it). The class is an
 *   inference. For any OTHER label the operation's own description says the opposite ("To add a staging
 *   label to a version when it is already attached to another version, Secrets Manager first removes it
 *   from the other version first and then attaches it to this one"). The doc-strict stand-in follows the
 *   description. Here the contradiction is REFUSED: nothing in the broker moves a label that way.
 * - Removing a label from a version that does not hold it is undocumented: REFUSED. So is removing
 *   AWSCURRENT without moving it, moving a label onto the version that already holds it, a call with
 *   neither MoveToVersionId nor RemoveFromVersionId, and moving a label onto a version without a value
 *   (refused by the doc-strict stand-in as well).
 * - "If this action results in the last label being removed from a version, then the version is
 *   considered to be 'deprecated'". DescribeSecret no longer lists it (below). An empty version (the
 *   rotation's, never written) is removed altogether: there is nothing left of it.
 *
 * DescribeSecret
 * - VersionIdsToStages lists "the versions of the secret that have staging labels attached". The
 *   rotation's empty AWSPENDING version is listed (see GetSecretValue). Also returns ARN, Name and Tags,
 *   and RotationEnabled / RotationLambdaARN for a secret created with `rotationLambdaArn`. CredentialRotation
 *   reads only ARN, Tags and VersionIdsToStages.
 *
 * TagResource
 * - "Attaches tags to a secret … This operation appends tags to the existing list of tags." Secrets
 *   Manager's page does not say what a key that is already there does. The general AWS tagging rule is
 *   that "If you add a tag that has the same key as an existing tag on that resource, the new value
 *   overwrites the old value" (e.g. AWS Batch user guide, "Tag basics"). moto does the same, so the value
 *   is replaced. That is the one rule here taken from outside the Secrets Manager reference, and the
 *   rotation's progress tag depends on it.
 * - "Maximum key length: 127 Unicode characters", "Maximum value length: 255 Unicode characters", and
 *   "Do not use the aws: prefix": InvalidParameterException (the class is an inference). The limit of
 *   50 tags is not modelled.
 *
 * SecretId is the secret's full ARN or its name ("You can specify either the ARN or the friendly name").
 * Partial ARNs are not modelled: they answer ResourceNotFoundException, like an unknown secret.
 */

const CURRENT = 'AWSCURRENT';
const PENDING = 'AWSPENDING';
const PREVIOUS = 'AWSPREVIOUS';
const IN_PROGRESS = "A previous rotation isn't complete. That rotation will be reattempted.";
/** What the redacted input fields read in `calls` and `summary()`. */
export const REDACTED = '[redacted]';

/**
 * Thrown where AWS documents nothing (or contradicts itself), never by AWS. Its name says so in a
 * failed step's progress tag and log line.
 */
export class UndocumentedCaseRefused extends Error {
  override readonly name = 'UndocumentedCaseRefused';
}

/** One call to `send`: the operation, its input with secret values redacted, and the error class if it failed. */
export interface RecordedCall {
  readonly operation: string;
  readonly input: Readonly<Record<string, unknown>>;
  readonly error?: string;
}

/** A rotation opened by `openRotation`, as RotateSecret opens one before invoking the function. */
export interface Rotation {
  readonly secretArn: string;
  /** The version RotateSecret created (the events' ClientRequestToken). */
  readonly token: string;
  /** The RotationToken Secrets Manager puts in each step's event. */
  readonly rotationToken: string;
  /** RotateImmediately=false: Secrets Manager runs testSecret alone on this version. */
  readonly testOnly: boolean;
  /** A new version was written during the rotation and AWSPENDING was removed. */
  abandoned: boolean;
  /** The RotationToken of the PutSecretValue that wrote the version (null: written without one). */
  writtenWithRotationToken: string | null | undefined;
}

export interface RotationServiceEvent {
  readonly eventName: 'RotationAbandoned';
  readonly token: string;
}

export interface InMemorySecretsManagerOptions {
  /** Epoch ms for CreatedDate. */
  readonly now?: () => number;
  readonly region?: string;
  readonly accountId?: string;
  /** GetSecretValue of a version left without labels (undocumented). Default: refused. */
  readonly unlabelledVersionReads?: 'refuse' | 'value' | 'not-found';
}

interface Version {
  readonly id: string;
  secretString: string | undefined;
  readonly labels: Set<string>;
  readonly createdMs: number;
}

interface Secret {
  readonly arn: string;
  readonly name: string;
  readonly versions: Map<string, Version>;
  readonly tags: Map<string, string>;
  readonly rotationLambdaArn: string | undefined;
}

type Output<T> = Omit<T, '$metadata'>;

export class InMemorySecretsManager {
  /** Every `send`, in order. Inputs are copies with SecretString, SecretBinary and RotationToken redacted. */
  readonly calls: RecordedCall[] = [];
  /** Why each undocumented case was refused (also thrown as UndocumentedCaseRefused). */
  readonly refusals: string[] = [];
  readonly events: RotationServiceEvent[] = [];
  readonly rotations: Rotation[] = [];
  private readonly secrets = new Map<string, Secret>();
  private readonly now: () => number;
  private readonly region: string;
  private readonly accountId: string;
  private readonly unlabelledVersionReads: 'refuse' | 'value' | 'not-found';
  private secretCount = 0;

  constructor(options: InMemorySecretsManagerOptions = {}) {
    this.now = options.now ?? Date.now;
    this.region = options.region ?? 'us-east-1';
    this.accountId = options.accountId ?? '123456789012';
    this.unlabelledVersionReads = options.unlabelledVersionReads ?? 'refuse';
  }

  /**
   * This object as the code under test types it. CredentialRotation, SecretVersions, CredentialStore and
   * recordProgress call only `send(command)` on their client. The real SecretsManagerClient also has a
   * config, a middleware stack and `destroy()`, which this stand-in does not need, hence the cast
   * through `unknown`. An operation nobody implemented here is refused at run time instead.
   */
  asClient(): SecretsManagerClient {
    return this as unknown as SecretsManagerClient;
  }

  // --- what exists before the code under test runs (not recorded in `calls`) ----------------------

  /**
   * A secret, as CreateSecret makes it: with `secretString`, one version holding AWSCURRENT; without,
   * an empty secret with no version ("If you omit both GenerateSecretString and SecretString, you create
   * an empty secret", AWS::SecretsManager::Secret). Returns its ARN.
   */
  createSecret(
    name: string,
    options: { readonly secretString?: string; readonly rotationLambdaArn?: string } = {},
  ): string {
    this.secretCount += 1;
    const suffix = this.secretCount.toString(36).padStart(6, '0').slice(-6);
    const arn = `arn:aws:secretsmanager:${this.region}:${this.accountId}:secret:${name}-${suffix}`;
    this.secrets.set(arn, {
      arn,
      name,
      versions: new Map(),
      tags: new Map(),
      rotationLambdaArn: options.rotationLambdaArn,
    });
    if (options.secretString !== undefined) {
      this.putSecretValue({ SecretId: arn, SecretString: options.secretString });
    }
    return arn;
  }

  /**
   * A PutSecretValue by someone other than the code under test (an operator, the CLI, a concurrent
   * `credentials set`). The rules are the same, including abandoning a rotation in progress, but the call
   * is not recorded. Returns the version id.
   */
  operatorPut(input: PutSecretValueCommandInput): string {
    return this.putSecretValue(input).VersionId as string;
  }

  /**
   * What RotateSecret does before it invokes the rotation function. It is refused while AWSPENDING is on
   * a version other than AWSCURRENT: "If the AWSPENDING staging label is present but not attached to the
   * same version as AWSCURRENT, then any later invocation of RotateSecret assumes that a previous rotation
   * request is still in progress and returns an error" (RotateSecret reference; AWS's
   * InvalidRequestException text, notes: /work/shared/notes/secrets-manager-rotation.md §1.4). Otherwise
   * it creates the rotation's version with AWSPENDING and no value (see GetSecretValue above). With
   * `testOnly` (RotateImmediately=false), moto's AWS-verified test saw that version hold a copy of
   * AWSCURRENT's value. An empty secret's copy holds nothing (what AWS does then is undocumented).
   */
  openRotation(secretId: string, options: { readonly testOnly?: boolean } = {}): Rotation {
    const secret = this.secret(secretId);
    const pending = this.holder(secret, PENDING);
    if (pending && !pending.labels.has(CURRENT)) {
      throw new InvalidRequestException({ message: IN_PROGRESS, $metadata: {} });
    }
    // After a rotation AWSPENDING may sit on the AWSCURRENT version; the new version takes it.
    if (pending) pending.labels.delete(PENDING);
    const token = randomUUID();
    const testOnly = options.testOnly === true;
    secret.versions.set(token, {
      id: token,
      secretString: testOnly ? this.holder(secret, CURRENT)?.secretString : undefined,
      labels: new Set([PENDING]),
      createdMs: this.now(),
    });
    const rotation: Rotation = {
      secretArn: secret.arn,
      token,
      rotationToken: randomUUID(),
      testOnly,
      abandoned: false,
      writtenWithRotationToken: undefined,
    };
    this.rotations.push(rotation);
    return rotation;
  }

  // --- what a test reads back (not recorded) ---------------------------------------------------------

  /** DescribeSecret's VersionIdsToStages (labelled versions only), labels sorted. */
  stagesOf(secretId: string): Record<string, string[]> {
    const stages: Record<string, string[]> = {};
    for (const version of this.secret(secretId).versions.values()) {
      if (version.labels.size > 0) stages[version.id] = [...version.labels].sort();
    }
    return stages;
  }

  versionWith(secretId: string, label: string): string | undefined {
    return this.holder(this.secret(secretId), label)?.id;
  }

  tagOf(secretId: string, key: string): string | undefined {
    return this.secret(secretId).tags.get(key);
  }

  /** A version's stored value, for assertions that compare values (never print it). */
  valueOf(secretId: string, versionId: string): string | undefined {
    return this.secret(secretId).versions.get(versionId)?.secretString;
  }

  rotation(token: string): Rotation | undefined {
    return this.rotations.find((r) => r.token === token);
  }

  /** The operations sent, in order (optionally only those from call `from` on). */
  operations(from = 0): string[] {
    return this.calls.slice(from).map((c) => c.operation);
  }

  count(operation: string, from = 0): number {
    return this.operations(from).filter((o) => o === operation).length;
  }

  /** One printable line per call: operation, redacted input, error class. Safe to log. */
  summary(): string[] {
    return this.calls.map(
      (c) => `${c.operation} ${JSON.stringify(c.input)}${c.error ? ` -> ${c.error}` : ''}`,
    );
  }

  // --- the API ------------------------------------------------------------------------------------

  async send(command: object): Promise<unknown> {
    const operation = command.constructor.name.replace(/Command$/, '');
    const input = (command as { input?: Record<string, unknown> }).input ?? {};
    const index = this.calls.push({ operation, input: redact(input) }) - 1;
    try {
      return { ...this.dispatch(command, operation), $metadata: {} };
    } catch (error) {
      this.calls[index] = { operation, input: redact(input), error: (error as Error).name };
      throw error;
    }
  }

  private dispatch(command: object, operation: string): object {
    if (command instanceof GetSecretValueCommand) return this.getSecretValue(command.input);
    if (command instanceof DescribeSecretCommand) return this.describeSecret(command.input.SecretId);
    if (command instanceof PutSecretValueCommand) return this.putSecretValue(command.input);
    if (command instanceof UpdateSecretVersionStageCommand) {
      return this.updateSecretVersionStage(command.input);
    }
    if (command instanceof TagResourceCommand) return this.tagResource(command.input);
    return this.refuse(`${operation} is not modelled by the in-memory Secrets Manager`);
  }

  private getSecretValue(input: GetSecretValueCommandInput): Output<GetSecretValueCommandOutput> {
    const secret = this.secret(input.SecretId);
    let version: Version | undefined;
    if (input.VersionId !== undefined) {
      version = secret.versions.get(input.VersionId);
      if (!version) throw notFound(`for VersionId: ${input.VersionId}`);
      if (version.labels.size === 0) {
        if (this.unlabelledVersionReads === 'not-found') throw notFound(`for VersionId: ${input.VersionId}`);
        if (this.unlabelledVersionReads === 'refuse') {
          this.refuse(
            `GetSecretValue of version ${input.VersionId}, which has no staging label left ("deprecated … can be deleted by Secrets Manager"): whether it can still be read is not documented`,
          );
        }
      }
      if (input.VersionStage !== undefined && !version.labels.has(input.VersionStage)) {
        this.refuse(
          `GetSecretValue with VersionId ${input.VersionId} and VersionStage ${input.VersionStage}, which is on another version: the reference says they "must refer to the same secret version", not what happens otherwise`,
        );
      }
    } else {
      const label = input.VersionStage ?? CURRENT;
      version = this.holder(secret, label);
      if (!version) throw notFound(`for staging label: ${label}`);
    }
    if (version.secretString === undefined) throw notFound(`for VersionId: ${version.id}`);
    return {
      ARN: secret.arn,
      Name: secret.name,
      VersionId: version.id,
      SecretString: version.secretString,
      VersionStages: [...version.labels],
      CreatedDate: new Date(version.createdMs),
    };
  }

  private describeSecret(secretId: string | undefined): Output<DescribeSecretCommandOutput> {
    const secret = this.secret(secretId);
    return {
      ARN: secret.arn,
      Name: secret.name,
      VersionIdsToStages: this.stagesOf(secret.arn),
      ...(secret.tags.size > 0 ? { Tags: [...secret.tags].map(([Key, Value]) => ({ Key, Value })) } : {}),
      ...(secret.rotationLambdaArn
        ? { RotationEnabled: true, RotationLambdaARN: secret.rotationLambdaArn }
        : {}),
    };
  }

  private putSecretValue(input: PutSecretValueCommandInput): Output<PutSecretValueCommandOutput> {
    const secret = this.secret(input.SecretId);
    if ((input.SecretString === undefined) === (input.SecretBinary === undefined)) {
      throw new InvalidParameterException({
        message: 'You must provide either SecretString or SecretBinary.',
        $metadata: {},
      });
    }
    if (input.SecretBinary !== undefined)
      this.refuse('SecretBinary is not modelled (the broker stores text)');
    const token = input.ClientRequestToken ?? randomUUID();
    const rotation = this.rotations.find((r) => r.secretArn === secret.arn && r.token === token);
    if (input.RotationToken !== undefined) {
      if (!rotation) this.refuse('PutSecretValue with a RotationToken for a version no rotation created');
      if (input.RotationToken !== rotation.rotationToken) {
        throw new InvalidRequestException({
          message: 'The RotationToken does not match the rotation.',
          $metadata: {},
        });
      }
    }
    const existing = secret.versions.get(token);
    if (existing) {
      if (existing.secretString === undefined) {
        // The rotation's own empty version, written as every AWS rotation template writes it.
        const stages = input.VersionStages ?? [];
        if (stages.length !== 1 || stages[0] !== PENDING || !existing.labels.has(PENDING)) {
          this.refuse(
            `PutSecretValue into the empty version ${token} with VersionStages ${JSON.stringify(input.VersionStages)}: only [AWSPENDING] on the AWSPENDING version (the rotation templates' createSecret) is documented`,
          );
        }
        existing.secretString = input.SecretString;
        if (rotation) rotation.writtenWithRotationToken = input.RotationToken ?? null;
        return this.putOutput(secret, existing);
      }
      if (existing.secretString === input.SecretString) return this.putOutput(secret, existing);
      throw new ResourceExistsException({
        message: "You can't modify an existing version, you can only create a new version.",
        $metadata: {},
      });
    }
    this.abandonRotationsOf(secret);
    const first = ![...secret.versions.values()].some((v) => v.secretString !== undefined);
    const version: Version = {
      id: token,
      secretString: input.SecretString,
      labels: new Set(),
      createdMs: this.now(),
    };
    secret.versions.set(token, version);
    for (const label of input.VersionStages ?? [CURRENT]) this.attach(secret, label, version);
    if (first) version.labels.add(CURRENT);
    return this.putOutput(secret, version);
  }

  private putOutput(secret: Secret, version: Version): Output<PutSecretValueCommandOutput> {
    return { ARN: secret.arn, Name: secret.name, VersionId: version.id, VersionStages: [...version.labels] };
  }

  private updateSecretVersionStage(
    input: UpdateSecretVersionStageCommandInput,
  ): Output<UpdateSecretVersionStageCommandOutput> {
    const secret = this.secret(input.SecretId);
    const label = input.VersionStage;
    if (!label) throw new InvalidParameterException({ message: 'VersionStage is required.', $metadata: {} });
    const { MoveToVersionId: moveTo, RemoveFromVersionId: removeFrom } = input;
    if (moveTo === undefined && removeFrom === undefined) {
      this.refuse('UpdateSecretVersionStage with neither MoveToVersionId nor RemoveFromVersionId');
    }
    const holder = this.holder(secret, label);
    const from = removeFrom === undefined ? undefined : secret.versions.get(removeFrom);

    if (moveTo === undefined) {
      if (!from?.labels.has(label)) {
        this.refuse(`removing ${label} from version ${removeFrom}, which does not hold it`);
      }
      if (label === CURRENT) this.refuse('removing AWSCURRENT without moving it to another version');
      from.labels.delete(label);
      this.prune(secret, from);
      return { ARN: secret.arn, Name: secret.name };
    }

    const to = secret.versions.get(moveTo);
    if (!to) throw notFound(`for VersionId: ${moveTo}`);
    if (to.secretString === undefined) {
      this.refuse(`moving ${label} onto version ${moveTo}, which has no value`);
    }
    if (holder === to) this.refuse(`attaching ${label} to version ${moveTo}, which already holds it`);
    if (removeFrom !== undefined && !from?.labels.has(label)) {
      throw new InvalidParameterException({
        message: `Version stage ${label} is not attached to version ${removeFrom}.`,
        $metadata: {},
      });
    }
    if (holder && removeFrom === undefined) {
      if (label !== CURRENT) {
        this.refuse(
          `moving ${label} without RemoveFromVersionId while version ${holder.id} holds it: the RemoveFromVersionId parameter says the operation fails, the operation's description says the label is moved`,
        );
      }
      throw new InvalidParameterException({
        message: `The parameter RemoveFromVersionId can't be empty. Staging label AWSCURRENT is currently attached to version ${holder.id}, so you must explicitly reference that version in RemoveFromVersionId.`,
        $metadata: {},
      });
    }
    this.attach(secret, label, to);
    return { ARN: secret.arn, Name: secret.name };
  }

  private tagResource(input: TagResourceCommandInput): Output<TagResourceCommandOutput> {
    const secret = this.secret(input.SecretId);
    if (!input.Tags) throw new InvalidParameterException({ message: 'Tags is required.', $metadata: {} });
    for (const tag of input.Tags) {
      const key = tag.Key ?? '';
      const value = tag.Value ?? '';
      if (key.length === 0 || key.length > 127 || value.length > 255 || /^aws:/i.test(key)) {
        throw new InvalidParameterException({
          message: `Invalid tag (key of ${key.length} characters, value of ${value.length}).`,
          $metadata: {},
        });
      }
    }
    for (const tag of input.Tags) secret.tags.set(tag.Key as string, tag.Value ?? '');
    return {};
  }

  // --- labels -----------------------------------------------------------------------------------------

  /** Attaches `label` to `version`, removing it from the version that held it; AWSPREVIOUS follows AWSCURRENT. */
  private attach(secret: Secret, label: string, version: Version): void {
    const holder = this.holder(secret, label);
    if (holder === version) return;
    version.labels.add(label);
    if (!holder) return;
    holder.labels.delete(label);
    if (label === CURRENT) this.attach(secret, PREVIOUS, holder);
    this.prune(secret, holder);
  }

  /** A version with neither labels nor value is gone (the rotation's version, released before written). */
  private prune(secret: Secret, version: Version): void {
    if (version.labels.size === 0 && version.secretString === undefined) secret.versions.delete(version.id);
  }

  private holder(secret: Secret, label: string): Version | undefined {
    return [...secret.versions.values()].find((v) => v.labels.has(label));
  }

  /** A new version during a rotation abandons it: AWSPENDING leaves the rotation's version. */
  private abandonRotationsOf(secret: Secret): void {
    for (const rotation of this.rotations) {
      if (rotation.secretArn !== secret.arn || rotation.abandoned) continue;
      const version = secret.versions.get(rotation.token);
      if (!version?.labels.has(PENDING) || version.labels.has(CURRENT)) continue;
      rotation.abandoned = true;
      this.events.push({ eventName: 'RotationAbandoned', token: rotation.token });
      version.labels.delete(PENDING);
      this.prune(secret, version);
    }
  }

  private secret(secretId: string | undefined): Secret {
    const secret =
      (secretId && this.secrets.get(secretId)) || [...this.secrets.values()].find((s) => s.name === secretId);
    if (!secret) {
      throw new ResourceNotFoundException({
        message: "Secrets Manager can't find the specified secret.",
        $metadata: {},
      });
    }
    return secret;
  }

  private refuse(why: string): never {
    const message = `In-memory Secrets Manager: ${why}. AWS does not document this case; refused.`;
    this.refusals.push(message);
    throw new UndocumentedCaseRefused(message);
  }
}

function notFound(what: string): ResourceNotFoundException {
  return new ResourceNotFoundException({
    message: `Secrets Manager can't find the specified secret value ${what}`,
    $metadata: {},
  });
}

function redact(input: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const copy: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input)) {
    if (value === undefined) continue;
    copy[key] =
      key === 'SecretString' || key === 'SecretBinary' || key === 'RotationToken'
        ? REDACTED
        : structuredClone(value);
  }
  return copy;
}
