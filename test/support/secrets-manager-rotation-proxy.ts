import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DescribeSecretCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { invokeBundled } from './invoke-bundled';

export interface StepRecord {
  readonly step: string;
  readonly ok: boolean;
  readonly error?: string;
  readonly logLines: readonly string[];
}

export interface RotationRun {
  readonly secretId: string;
  readonly token: string;
  readonly steps: StepRecord[];
  readonly done: Promise<void>;
}

interface RotationTarget {
  readonly bundle: string;
  readonly env: () => Record<string, string>;
}

const STEPS = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const;

/**
 * Secrets Manager for tests: forwards every request to moto_server, except RotateSecret, which moto can
 * only serve by running the rotation Lambda in Docker. For RotateSecret it does what Secrets Manager
 * does with a rotation function attached: refuse while another version is AWSPENDING, answer at once,
 * then invoke the bundled rotation function once per step (createSecret, setSecret, testSecret,
 * finishSecret) with {SecretId, ClientRequestToken, Step}, stopping at the first failed step.
 */
export class SecretsManagerRotationProxy {
  readonly rotations: RotationRun[] = [];
  private readonly targets = new Map<string, RotationTarget>();
  private readonly server: Server;

  private constructor(
    private readonly motoEndpoint: string,
    private readonly secrets: SecretsManagerClient,
  ) {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error: Error) => {
        res.writeHead(500, { 'content-type': 'application/x-amz-json-1.1' });
        res.end(JSON.stringify({ __type: 'InternalServiceError', message: error.message }));
      });
    });
  }

  /** `secrets` talks to moto directly (to read staging labels). */
  static async start(
    motoEndpoint: string,
    secrets: SecretsManagerClient,
  ): Promise<SecretsManagerRotationProxy> {
    const proxy = new SecretsManagerRotationProxy(motoEndpoint, secrets);
    await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Attaches a rotation function to the secret with this ARN. */
  attachRotation(secretArn: string, target: RotationTarget): void {
    this.targets.set(secretArn, target);
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
    if (req.headers['x-amz-target'] === 'secretsmanager.RotateSecret') {
      await this.rotate(JSON.parse(body.toString('utf8')) as Record<string, unknown>, res);
      return;
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers))
      if (typeof v === 'string' && k !== 'host') headers[k] = v;
    const upstream = await fetch(`${this.motoEndpoint}${req.url ?? '/'}`, {
      method: req.method ?? 'POST',
      headers,
      body: body.length > 0 ? new Uint8Array(body) : undefined,
    });
    const responseHeaders: Record<string, string> = {};
    upstream.headers.forEach((value, key) => {
      if (key !== 'content-length' && key !== 'transfer-encoding' && key !== 'content-encoding')
        responseHeaders[key] = value;
    });
    const payload = Buffer.from(await upstream.arrayBuffer());
    res.writeHead(upstream.status, { ...responseHeaders, 'content-length': String(payload.length) });
    res.end(payload);
  }

  private async rotate(request: Record<string, unknown>, res: ServerResponse): Promise<void> {
    const secretId = String(request.SecretId);
    const token = String(request.ClientRequestToken);
    const described = await this.secrets.send(new DescribeSecretCommand({ SecretId: secretId }));
    const target = described.ARN ? this.targets.get(described.ARN) : undefined;
    const json = (status: number, value: unknown) => {
      res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
      res.end(JSON.stringify(value));
    };
    if (!target || !described.ARN) {
      json(400, {
        __type: 'InvalidRequestException',
        message: 'No rotation function is attached to this secret.',
      });
      return;
    }
    const otherPending = Object.entries(described.VersionIdsToStages ?? {}).find(
      ([id, stages]) => id !== token && stages.includes('AWSPENDING') && !stages.includes('AWSCURRENT'),
    );
    if (otherPending) {
      json(400, {
        __type: 'InvalidRequestException',
        message: "A previous rotation isn't complete. That rotation will be reattempted.",
      });
      return;
    }
    const steps: StepRecord[] = [];
    const arn = described.ARN;
    const done = (async () => {
      for (const step of STEPS) {
        const outcome = await invokeBundled({
          bundle: target.bundle,
          env: target.env(),
          events: [{ SecretId: arn, ClientRequestToken: token, Step: step }],
        });
        const result = outcome.results[0];
        steps.push({
          step,
          ok: result?.ok === true,
          ...(result && !result.ok ? { error: result.error.name } : {}),
          logLines: outcome.logLines,
        });
        if (!result?.ok) return;
      }
    })();
    this.rotations.push({ secretId: arn, token, steps, done });
    json(200, { ARN: arn, Name: described.Name, VersionId: token });
  }
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
