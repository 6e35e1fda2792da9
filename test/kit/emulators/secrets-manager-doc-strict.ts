import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  DescribeSecretCommand,
  type SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { invokeBundled } from '../runners/invoke-bundled';

/**
 * Secrets Manager for tests, strict to what AWS DOCUMENTS about rotation, in front of moto_server.
 *
 * Every request is forwarded to moto except where moto cannot do what Secrets Manager does (run a
 * rotation function: moto needs Docker for Lambda) or deviates from the documentation. Each rule below
 * cites the statement it follows; nothing here encodes an assumption of ours about undocumented
 * behaviour — where AWS documents nothing, the stand-in REFUSES, so a design that depends on the
 * undocumented case fails here.
 *
 * RotateSecret
 * - Refused while AWSPENDING is on a version other than AWSCURRENT, whatever ClientRequestToken the
 *   request carries: "If the AWSPENDING staging label is present but not attached to the same version
 *   as AWSCURRENT, then any later invocation of RotateSecret assumes that a previous rotation request is
 *   still in progress and returns an error." (RotateSecret API reference,
 *   https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_RotateSecret.html). The error is
 *   AWS's: InvalidRequestException "A previous rotation isn't complete. That rotation will be reattempted."
 * - A ClientRequestToken naming an existing version is refused too: the current RotateSecret reference
 *   documents no reuse of a version id ("A unique identifier for the new version of the secret … This
 *   value becomes the VersionId of the new version").
 * - The rotation's version is created with AWSPENDING and NO value before the first step: "During
 *   rotation, Secrets Manager creates an AWSPENDING version ID before creating the new secret version.
 *   To check if a secret version exists, call GetSecretValue." (DescribeSecret VersionIdsToStages,
 *   https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_DescribeSecret.html; moto PR #8504
 *   verified against AWS that GetSecretValue of it throws ResourceNotFoundException until written).
 *   The stand-in keeps that empty version itself (moto cannot hold a version without a value) and shows
 *   it in DescribeSecret / ListSecretVersionIds; GetSecretValue of it answers ResourceNotFoundException.
 * - Each step is invoked with {Step, SecretId, ClientRequestToken, RotationToken} ("Rotation by Lambda
 *   function", https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_lambda.html).
 * - "If any rotation step fails, Secrets Manager retries the entire rotation process multiple times."
 *   (same page): after a failed step the whole rotation runs again from createSecret with the same
 *   token, `retries` times. AWSPENDING stays where it is afterwards ("When rotation is unsuccessful, the
 *   AWSPENDING staging label might be attached to an empty secret version", RotateSecret reference).
 * - RotateImmediately=false runs testSecret alone on a temporary AWSPENDING version and removes it
 *   (RotateSecret reference, RotateImmediately). The version holds a copy of AWSCURRENT's value, or none
 *   when the secret is empty (what AWS does then is undocumented: both are safe for our function).
 *
 * PutSecretValue during a rotation
 * - Writing a NEW version while a rotation is in progress abandons it: "Secrets Manager abandons
 *   rotation when you create a new version of a secret during rotation" and removes AWSPENDING
 *   (RotationAbandoned, https://docs.aws.amazon.com/secretsmanager/latest/userguide/retrieve-ct-entries.html).
 *   The rotation function's own write (ClientRequestToken = the rotation's token) is not a new version.
 * - A RotationToken other than the event's is refused (it "indicates the source of the request",
 *   PutSecretValue API reference).
 *
 * moto's deviations, corrected here (moto 5.2.1, moto/secretsmanager/models.py)
 * - GetSecretValue without VersionId/VersionStage returns moto's "default version", which
 *   UpdateSecretVersionStage does not move; AWS returns AWSCURRENT ("If you don't specify either a
 *   VersionStage or VersionId, then Secrets Manager returns the AWSCURRENT version", GetSecretValue API
 *   reference). The stand-in adds VersionStage=AWSCURRENT.
 * - moto's RotateSecret wipes the value of a version with the request's token and its "rotation in
 *   progress" check is inverted (it refuses only when the pending version IS current): RotateSecret is
 *   never forwarded to moto.
 * - moto lists versions without labels in DescribeSecret; AWS lists "the versions of the secret that
 *   have staging labels attached" (DescribeSecret reference): they are left out.
 * - moto's UpdateSecretVersionStage with MoveToVersionId leaves a non-AWSCURRENT label on the version
 *   it was on; AWS: "Each staging label can be attached to only one version at a time … Secrets Manager
 *   first removes it from the other version" (UpdateSecretVersionStage reference). Corrected.
 */

export interface RotationFunction {
  readonly bundle: string;
  readonly env: () => Record<string, string>;
}

export interface StepInvocation {
  readonly token: string;
  readonly attempt: number;
  readonly step: string;
  readonly event: Record<string, string>;
  readonly ok: boolean;
  readonly error?: string;
  readonly logLines: readonly string[];
}

/** The CloudTrail service events Secrets Manager would record for the rotations. */
export interface RotationServiceEvent {
  readonly eventName: 'RotationStarted' | 'RotationSucceeded' | 'RotationFailed' | 'RotationAbandoned';
  readonly token: string;
  readonly errorMessage?: string;
}

export interface Rotation {
  readonly arn: string;
  readonly token: string;
  readonly rotationToken: string;
  readonly createdDate: number;
  /** The version exists with AWSPENDING but no value: kept here, not in moto. */
  empty: boolean;
  /** A test rotation (RotateImmediately=false): testSecret only, then the version is removed. */
  readonly testOnly: boolean;
  abandoned: boolean;
  done: Promise<void>;
  /** RotationToken carried by the PutSecretValue that wrote the version. */
  writtenWithRotationToken?: string | null;
}

const STEPS = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const;
const IN_PROGRESS = "A previous rotation isn't complete. That rotation will be reattempted.";

export class DocStrictSecretsManager {
  readonly invocations: StepInvocation[] = [];
  readonly events: RotationServiceEvent[] = [];
  readonly rotations: Rotation[] = [];
  private readonly targets = new Map<string, RotationFunction>();
  private readonly interrupts = new Map<string, number>();
  private readonly beforeSteps = new Map<string, () => Promise<void>>();
  private beforeRotate: (() => Promise<void>) | undefined;
  private readonly server: Server;

  private constructor(
    private readonly motoEndpoint: string,
    private readonly moto: SecretsManagerClient,
    private readonly options: { readonly retries: number; readonly retryDelayMs: number },
  ) {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error: Error) => {
        sendError(res, 500, 'InternalServiceError', error.message);
      });
    });
  }

  /** `moto` talks to moto_server directly. `retries`: whole-rotation retries after a failed step. */
  static async start(
    motoEndpoint: string,
    moto: SecretsManagerClient,
    options: { readonly retries?: number; readonly retryDelayMs?: number } = {},
  ): Promise<DocStrictSecretsManager> {
    const standIn = new DocStrictSecretsManager(motoEndpoint, moto, {
      retries: options.retries ?? 2,
      retryDelayMs: options.retryDelayMs ?? 50,
    });
    await new Promise<void>((resolve) => standIn.server.listen(0, '127.0.0.1', resolve));
    return standIn;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Attaches a rotation function to the secret with this ARN. */
  attachRotation(secretArn: string, target: RotationFunction): void {
    this.targets.set(secretArn, target);
  }

  /** The next `count` invocations of `step` fail as a Lambda timeout would, without running the function. */
  interruptNext(step: (typeof STEPS)[number], count = 1): void {
    this.interrupts.set(step, (this.interrupts.get(step) ?? 0) + count);
  }

  /**
   * What RotateSecret does before it invokes anything — the same refusal, then the empty AWSPENDING
   * version — for tests that play Secrets Manager's invoker step by step themselves. No step runs.
   */
  async openRotation(secretArn: string, options: { readonly testOnly?: boolean } = {}): Promise<Rotation> {
    const described = await this.moto.send(new DescribeSecretCommand({ SecretId: secretArn }));
    const stages = this.stagesOf(secretArn, described.VersionIdsToStages ?? {});
    if (Object.values(stages).some((l) => l.includes('AWSPENDING') && !l.includes('AWSCURRENT'))) {
      throw new Error(`InvalidRequestException: ${IN_PROGRESS}`);
    }
    const rotation: Rotation = {
      arn: secretArn,
      token: randomUUID(),
      rotationToken: randomUUID(),
      createdDate: Date.now() / 1000,
      empty: true,
      testOnly: options.testOnly === true,
      abandoned: false,
      done: Promise.resolve(),
    };
    this.rotations.push(rotation);
    return rotation;
  }

  /** Runs `action` once, just before the next invocation of `step` (e.g. an operator writing a version). */
  beforeNextStep(step: (typeof STEPS)[number], action: () => Promise<void>): void {
    this.beforeSteps.set(step, action);
  }

  /** Runs `action` once, when the next RotateSecret arrives and before it is answered (a race with another operator). */
  beforeNextRotateSecret(action: () => Promise<void>): void {
    this.beforeRotate = action;
  }

  rotationsOf(secretArn: string): Rotation[] {
    return this.rotations.filter((r) => r.arn === secretArn);
  }

  /** Every line the rotation function logged and every step result: for leak checks. */
  allText(): string[] {
    return this.invocations.flatMap((i) => [...i.logLines, i.error ?? '']);
  }

  async settled(): Promise<void> {
    await Promise.all(this.rotations.map((r) => r.done));
  }

  async stop(): Promise<void> {
    await this.settled();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const operation = String(req.headers['x-amz-target'] ?? '').replace(/^secretsmanager\./, '');
    const request = body.length > 0 ? (JSON.parse(body.toString('utf8')) as Record<string, unknown>) : {};
    switch (operation) {
      case 'RotateSecret':
        return this.rotateSecret(request, res);
      case 'GetSecretValue':
        return this.getSecretValue(request, req, res);
      case 'DescribeSecret':
        return this.describeSecret(request, req, res);
      case 'ListSecretVersionIds':
        return this.listSecretVersionIds(request, req, res);
      case 'PutSecretValue':
        return this.putSecretValue(request, req, res);
      case 'UpdateSecretVersionStage':
        return this.updateSecretVersionStage(request, req, res);
      default:
        return this.pipe(await this.forward(req, request), res);
    }
  }

  // --- RotateSecret ---------------------------------------------------------------------------

  private async rotateSecret(request: Record<string, unknown>, res: ServerResponse): Promise<void> {
    const race = this.beforeRotate;
    this.beforeRotate = undefined;
    await race?.();
    const described = await this.moto.send(new DescribeSecretCommand({ SecretId: String(request.SecretId) }));
    const arn = described.ARN as string;
    const target = this.targets.get(arn);
    if (!target) {
      return sendError(
        res,
        400,
        'InvalidRequestException',
        'No rotation function is attached to this secret.',
      );
    }
    const stages = this.stagesOf(arn, described.VersionIdsToStages ?? {});
    const pendingElsewhere = Object.values(stages).some(
      (labels) => labels.includes('AWSPENDING') && !labels.includes('AWSCURRENT'),
    );
    if (pendingElsewhere) return sendError(res, 400, 'InvalidRequestException', IN_PROGRESS);
    const token = typeof request.ClientRequestToken === 'string' ? request.ClientRequestToken : randomUUID();
    if (token in stages || token in (described.VersionIdsToStages ?? {})) {
      return sendError(
        res,
        400,
        'InvalidRequestException',
        'Doc-strict stand-in: RotateSecret with the id of an existing version is not documented; refused.',
      );
    }
    // AWSPENDING may sit on the AWSCURRENT version after a rotation; the new version takes it.
    const onCurrent = Object.entries(stages).find(([, labels]) => labels.includes('AWSPENDING'))?.[0];
    if (onCurrent) {
      await this.moto.send(
        new UpdateSecretVersionStageCommand({
          SecretId: arn,
          VersionStage: 'AWSPENDING',
          RemoveFromVersionId: onCurrent,
        }),
      );
    }
    const testOnly = request.RotateImmediately === false;
    const rotation: Rotation = {
      arn,
      token,
      rotationToken: randomUUID(),
      createdDate: Date.now() / 1000,
      empty: true,
      testOnly,
      abandoned: false,
      done: Promise.resolve(),
    };
    this.rotations.push(rotation);
    rotation.done = this.runRotation(rotation, target).catch(() => {});
    sendJson(res, { ARN: arn, Name: described.Name, VersionId: token });
  }

  private async runRotation(rotation: Rotation, target: RotationFunction): Promise<void> {
    this.events.push({ eventName: 'RotationStarted', token: rotation.token });
    const steps = rotation.testOnly ? (['testSecret'] as const) : STEPS;
    for (let attempt = 0; attempt <= this.options.retries; attempt += 1) {
      let failed: StepInvocation | undefined;
      for (const step of steps) {
        if (rotation.abandoned) return;
        const invocation = await this.invokeStep(rotation, target, step, attempt);
        this.invocations.push(invocation);
        if (!invocation.ok) {
          failed = invocation;
          break;
        }
      }
      if (rotation.abandoned) return;
      if (!failed) {
        if (rotation.testOnly) rotation.empty = false;
        this.events.push({ eventName: 'RotationSucceeded', token: rotation.token });
        return;
      }
      this.events.push({
        eventName: 'RotationFailed',
        token: rotation.token,
        errorMessage: `Error when executing lambda during ${failed.step} step: ${failed.error}`,
      });
      if (rotation.testOnly) {
        rotation.empty = false;
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, this.options.retryDelayMs));
    }
  }

  private async invokeStep(
    rotation: Rotation,
    target: RotationFunction,
    step: string,
    attempt: number,
  ): Promise<StepInvocation> {
    const event = {
      Step: step,
      SecretId: rotation.arn,
      ClientRequestToken: rotation.token,
      RotationToken: rotation.rotationToken,
    };
    const before = this.beforeSteps.get(step);
    if (before) {
      this.beforeSteps.delete(step);
      await before();
      if (rotation.abandoned) {
        return { token: rotation.token, attempt, step, event, ok: false, error: 'Abandoned', logLines: [] };
      }
    }
    const interrupts = this.interrupts.get(step) ?? 0;
    if (interrupts > 0) {
      this.interrupts.set(step, interrupts - 1);
      return {
        token: rotation.token,
        attempt,
        step,
        event,
        ok: false,
        error: 'Sandbox.Timedout',
        logLines: [],
      };
    }
    const outcome = await invokeBundled({ bundle: target.bundle, env: target.env(), events: [event] });
    const result = outcome.results[0];
    return {
      token: rotation.token,
      attempt,
      step,
      event,
      ok: result?.ok === true,
      ...(result && !result.ok ? { error: result.error.name } : !result ? { error: 'NoResult' } : {}),
      logLines: outcome.logLines,
    };
  }

  // --- reads ------------------------------------------------------------------------------------

  private async getSecretValue(
    request: Record<string, unknown>,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<void> {
    const arn = await this.arnOf(request.SecretId);
    const empty = arn ? this.emptyRotation(arn) : undefined;
    if (
      empty &&
      (request.VersionId === empty.token ||
        (request.VersionId === undefined && request.VersionStage === 'AWSPENDING'))
    ) {
      return sendError(
        res,
        400,
        'ResourceNotFoundException',
        `Secrets Manager can't find the specified secret value for VersionId: ${empty.token}`,
      );
    }
    const corrected =
      request.VersionId === undefined && request.VersionStage === undefined
        ? { ...request, VersionStage: 'AWSCURRENT' }
        : request;
    return this.pipe(await this.forward(req, corrected), res);
  }

  private async describeSecret(
    request: Record<string, unknown>,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<void> {
    const upstream = await this.forward(req, request);
    if (upstream.status !== 200) return this.pipe(upstream, res);
    const described = JSON.parse(upstream.body.toString('utf8')) as Record<string, unknown>;
    const arn = described.ARN as string;
    described.VersionIdsToStages = this.stagesOf(
      arn,
      (described.VersionIdsToStages ?? {}) as Record<string, string[]>,
    );
    if (this.targets.has(arn)) {
      described.RotationEnabled = true;
      described.RotationLambdaARN ||= `arn:aws:lambda:us-east-1:123456789012:function:rotate-credentials`;
    }
    sendJson(res, described);
  }

  private async listSecretVersionIds(
    request: Record<string, unknown>,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<void> {
    const upstream = await this.forward(req, request);
    if (upstream.status !== 200) return this.pipe(upstream, res);
    const listed = JSON.parse(upstream.body.toString('utf8')) as {
      ARN: string;
      Versions?: { VersionId: string; VersionStages?: string[] }[];
    };
    const versions = (listed.Versions ?? []).filter((v) => (v.VersionStages ?? []).length > 0);
    // moto answers its internal secret id as "ARN" here: resolve the real one.
    const arn = await this.arnOf(request.SecretId);
    const empty = arn ? this.emptyRotation(arn) : undefined;
    if (empty) {
      versions.push({
        VersionId: empty.token,
        VersionStages: ['AWSPENDING'],
        CreatedDate: empty.createdDate,
      } as never);
    }
    sendJson(res, { ...listed, Versions: versions });
  }

  // --- writes -----------------------------------------------------------------------------------

  private async putSecretValue(
    request: Record<string, unknown>,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<void> {
    const arn = await this.arnOf(request.SecretId);
    const rotation = arn ? this.inProgress(arn) : undefined;
    const token = request.ClientRequestToken;
    if (rotation && token === rotation.token) {
      if (request.RotationToken !== undefined && request.RotationToken !== rotation.rotationToken) {
        return sendError(
          res,
          400,
          'InvalidRequestException',
          'The RotationToken does not match the rotation.',
        );
      }
      const { RotationToken: _ignored, ...forMoto } = request;
      const upstream = await this.forward(req, forMoto);
      if (upstream.status === 200 && rotation.empty) {
        rotation.empty = false;
        rotation.writtenWithRotationToken =
          typeof request.RotationToken === 'string' ? request.RotationToken : null;
      }
      return this.pipe(upstream, res);
    }
    const upstream = await this.forward(req, request);
    if (upstream.status === 200 && rotation) {
      const written = JSON.parse(upstream.body.toString('utf8')) as { VersionId?: string };
      if (written.VersionId !== rotation.token) await this.abandon(rotation);
    }
    return this.pipe(upstream, res);
  }

  private async updateSecretVersionStage(
    request: Record<string, unknown>,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<void> {
    const arn = await this.arnOf(request.SecretId);
    const empty = arn ? this.emptyRotation(arn) : undefined;
    if (empty && request.RemoveFromVersionId === empty.token && request.VersionStage === 'AWSPENDING') {
      // Removing AWSPENDING from the empty rotation version: the label goes, and with it the version.
      empty.empty = false;
      empty.abandoned = true;
      return sendJson(res, { ARN: arn, Name: request.SecretId });
    }
    if (empty && request.MoveToVersionId === empty.token) {
      return sendError(
        res,
        400,
        'InvalidRequestException',
        'Doc-strict stand-in: moving a label onto a version without a value is not documented; refused.',
      );
    }
    const label = String(request.VersionStage);
    if (arn && request.MoveToVersionId && !request.RemoveFromVersionId && label !== 'AWSCURRENT') {
      const described = await this.moto.send(new DescribeSecretCommand({ SecretId: arn }));
      const holder = Object.entries(described.VersionIdsToStages ?? {}).find(
        ([id, labels]) => id !== request.MoveToVersionId && labels.includes(label),
      )?.[0];
      if (holder) {
        await this.moto.send(
          new UpdateSecretVersionStageCommand({
            SecretId: arn,
            VersionStage: label,
            RemoveFromVersionId: holder,
          }),
        );
      }
    }
    return this.pipe(await this.forward(req, request), res);
  }

  private async abandon(rotation: Rotation): Promise<void> {
    rotation.abandoned = true;
    this.events.push({ eventName: 'RotationAbandoned', token: rotation.token });
    if (rotation.empty) {
      rotation.empty = false;
      return;
    }
    const described = await this.moto.send(new DescribeSecretCommand({ SecretId: rotation.arn }));
    if ((described.VersionIdsToStages?.[rotation.token] ?? []).includes('AWSPENDING')) {
      await this.moto.send(
        new UpdateSecretVersionStageCommand({
          SecretId: rotation.arn,
          VersionStage: 'AWSPENDING',
          RemoveFromVersionId: rotation.token,
        }),
      );
    }
  }

  // --- state ------------------------------------------------------------------------------------

  private emptyRotation(arn: string): Rotation | undefined {
    return this.rotations.find((r) => r.arn === arn && r.empty);
  }

  /** The rotation whose version still holds AWSPENDING without AWSCURRENT (per the labels), if any. */
  private inProgress(arn: string): Rotation | undefined {
    const empty = this.emptyRotation(arn);
    if (empty) return empty;
    return this.rotations.find((r) => r.arn === arn && !r.abandoned && !r.testOnly && this.pendingIn(r));
  }

  private pendingCache = new Map<string, boolean>();

  private pendingIn(rotation: Rotation): boolean {
    return this.pendingCache.get(rotation.token) ?? false;
  }

  /** moto's labels with the empty rotation version added and label-less versions left out. */
  private stagesOf(arn: string, motoStages: Record<string, string[]>): Record<string, string[]> {
    const stages: Record<string, string[]> = {};
    for (const [id, labels] of Object.entries(motoStages)) if (labels.length > 0) stages[id] = [...labels];
    const empty = this.emptyRotation(arn);
    if (empty) stages[empty.token] = ['AWSPENDING'];
    for (const r of this.rotations.filter((x) => x.arn === arn)) {
      const labels = stages[r.token] ?? [];
      this.pendingCache.set(r.token, labels.includes('AWSPENDING') && !labels.includes('AWSCURRENT'));
    }
    return stages;
  }

  private async arnOf(secretId: unknown): Promise<string | undefined> {
    if (typeof secretId !== 'string') return undefined;
    try {
      const described = await this.moto.send(new DescribeSecretCommand({ SecretId: secretId }));
      if (described.ARN) this.stagesOf(described.ARN, described.VersionIdsToStages ?? {});
      return described.ARN;
    } catch {
      return undefined;
    }
  }

  // --- wire ---------------------------------------------------------------------------------------

  private async forward(
    req: IncomingMessage,
    request: Record<string, unknown>,
  ): Promise<{ status: number; headers: Record<string, string>; body: Buffer }> {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) {
      if (typeof v === 'string' && k !== 'host' && k !== 'content-length') headers[k] = v;
    }
    const upstream = await fetch(`${this.motoEndpoint}${req.url ?? '/'}`, {
      method: req.method ?? 'POST',
      headers,
      body: JSON.stringify(request),
    });
    const responseHeaders: Record<string, string> = {};
    upstream.headers.forEach((value, key) => {
      if (key !== 'content-length' && key !== 'transfer-encoding' && key !== 'content-encoding')
        responseHeaders[key] = value;
    });
    return {
      status: upstream.status,
      headers: responseHeaders,
      body: Buffer.from(await upstream.arrayBuffer()),
    };
  }

  private pipe(
    upstream: { status: number; headers: Record<string, string>; body: Buffer },
    res: ServerResponse,
  ): void {
    res.writeHead(upstream.status, { ...upstream.headers, 'content-length': String(upstream.body.length) });
    res.end(upstream.body);
  }
}

function sendJson(res: ServerResponse, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(200, {
    'content-type': 'application/x-amz-json-1.1',
    'content-length': String(Buffer.byteLength(body)),
  });
  res.end(body);
}

function sendError(res: ServerResponse, status: number, type: string, message: string): void {
  const body = JSON.stringify({ __type: type, message });
  res.writeHead(status, {
    'content-type': 'application/x-amz-json-1.1',
    'x-amzn-errortype': type,
    'content-length': String(Buffer.byteLength(body)),
  });
  res.end(body);
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
