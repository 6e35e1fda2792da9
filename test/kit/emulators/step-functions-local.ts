import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { freePort, MOTO_CREDENTIALS, MOTO_REGION } from '../local-aws/moto';

/**
 * Step Functions that really executes state machines: a dedicated moto_server with moto's ASL
 * interpreter switched on (`execute_state_machine`). The interpreter calls AWS services back through
 * "the moto server" (MOTO_PORT), which here is a small router: Lambda Invoke requests go to the given
 * Lambda stand-in (moto cannot run Lambda without Docker), everything else (SNS, SQS) to this moto.
 */
export class StepFunctionsLocal {
  private constructor(
    private readonly moto: ChildProcess,
    /** moto_server's recent stderr, for diagnosing a failed call. */
    readonly stderrTail: () => string,
    private readonly router: Server,
    readonly endpoint: string,
  ) {}

  static async start(lambdaEndpoint: string): Promise<StepFunctionsLocal> {
    const motoPort = await freePort();
    const motoEndpoint = `http://127.0.0.1:${motoPort}`;
    const router = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', async () => {
        const target = req.url?.startsWith('/2015-03-31/functions/') ? lambdaEndpoint : motoEndpoint;
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(req.headers))
          if (typeof v === 'string' && k !== 'host') headers[k] = v;
        try {
          const body = Buffer.concat(chunks);
          const upstream = await fetch(`${target}${req.url}`, {
            method: req.method ?? 'GET',
            headers,
            body: body.length > 0 ? new Uint8Array(body) : undefined,
          });
          const payload = Buffer.from(await upstream.arrayBuffer());
          const out: Record<string, string> = {};
          upstream.headers.forEach((value, key) => {
            if (!['content-length', 'transfer-encoding', 'content-encoding'].includes(key)) out[key] = value;
          });
          res.writeHead(upstream.status, { ...out, 'content-length': String(payload.length) });
          res.end(payload);
        } catch (error) {
          res.writeHead(502);
          res.end(String(error));
        }
      });
    });
    await new Promise<void>((resolve) => router.listen(0, '127.0.0.1', resolve));
    const routerPort = (router.address() as AddressInfo).port;

    const moto = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(motoPort)], {
      env: { ...process.env, MOTO_PORT: String(routerPort) },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    moto.stderr?.on('data', (c) => {
      stderr = (stderr + c).slice(-20000);
    });
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (moto.exitCode !== null) throw new Error(`moto_server exited early: ${stderr}`);
      try {
        const r = await fetch(`${motoEndpoint}/moto-api/config`, {
          method: 'POST',
          body: JSON.stringify({ stepfunctions: { execute_state_machine: true } }),
        });
        if (r.ok) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`moto_server did not start within 60 s: ${stderr}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    return new StepFunctionsLocal(moto, () => stderr, router, `http://127.0.0.1:${routerPort}`);
  }

  /**
   * Clears every state machine, execution and topic. moto cannot start a second execution once an
   * earlier one has run in the same backend (it deep-copies objects that now hold a thread lock), so
   * each test starts from a reset backend.
   */
  async reset(): Promise<void> {
    const response = await fetch(`${this.endpoint}/moto-api/reset`, { method: 'POST' });
    if (!response.ok) throw new Error(`moto reset failed: ${response.status}`);
  }

  /** SDK client config for this Step Functions (and its SNS/SQS). */
  clientConfig() {
    return { endpoint: this.endpoint, region: MOTO_REGION, credentials: MOTO_CREDENTIALS };
  }

  async stop(): Promise<void> {
    if (this.moto.exitCode === null) {
      this.moto.kill('SIGTERM');
      await new Promise((r) => this.moto.once('exit', r));
    }
    this.router.closeAllConnections();
    await new Promise<void>((resolve) => this.router.close(() => resolve()));
  }
}
