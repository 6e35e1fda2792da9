import { type ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';
import type { InvocationResult } from './invoke-bundled';

const RUNNER = path.join(__dirname, 'warm-lambda-runner.cjs');
/** The runner's end-of-invocation line on stdout (warm-lambda-runner.cjs): not a log line. */
const DONE_MARKER = '__warmLambdaInvocationDone';

/**
 * One warm execution environment of a bundled handler in its own Node process, with only the
 * given environment. Unlike invokeBundled (one batch of sequential events), it stays up, takes
 * events whenever the test sends them and runs concurrent ones concurrently — for instances that
 * must keep their in-memory state between requests, and for single-flight tests.
 */
export class WarmLambda {
  /** Every line the function wrote to stdout or stderr: what CloudWatch Logs would hold. */
  readonly logLines: string[] = [];
  private readonly waiting = new Map<number, (result: InvocationResult) => void>();
  /**
   * An invocation is settled once both its result (fd 3) and its end marker (stdout) have arrived:
   * two pipes deliver in no set order, and a test reads the log lines as soon as it has the result.
   */
  private readonly results = new Map<number, InvocationResult>();
  private readonly logsDone = new Set<number>();
  private nextId = 0;
  private exited = false;

  private constructor(private readonly child: ChildProcess) {}

  static async start(options: {
    readonly bundle: string;
    readonly env: Record<string, string>;
    readonly lambdaTimeoutMs?: number;
  }): Promise<WarmLambda> {
    const child = spawn(
      process.execPath,
      [RUNNER, options.bundle, String(options.lambdaTimeoutMs ?? 30_000)],
      { env: { PATH: process.env.PATH ?? '', ...options.env }, stdio: ['pipe', 'pipe', 'pipe', 'pipe'] },
    );
    const lambda = new WarmLambda(child);
    let partialLog = '';
    const onLog = (chunk: Buffer) => {
      partialLog += chunk.toString('utf8');
      const lines = partialLog.split('\n');
      partialLog = lines.pop() ?? '';
      for (const line of lines.filter((l) => l.trim().length > 0)) {
        const done = line.startsWith(`{"${DONE_MARKER}":`)
          ? (JSON.parse(line)[DONE_MARKER] as number)
          : undefined;
        if (done === undefined) lambda.logLines.push(line);
        else {
          lambda.logsDone.add(done);
          lambda.settle(done);
        }
      }
    };
    child.stdout?.on('data', onLog);
    child.stderr?.on('data', onLog);

    const ready = new Promise<void>((resolve, reject) => {
      let partial = '';
      let first = true;
      (child.stdio[3] as NodeJS.ReadableStream).on('data', (chunk: Buffer) => {
        partial += chunk.toString('utf8');
        const lines = partial.split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines.filter(Boolean)) {
          const record = JSON.parse(line) as { ready?: boolean; id?: number; error?: { message: string } };
          if (first) {
            first = false;
            if (record.ready) resolve();
            else reject(new Error(`Init failed: ${record.error?.message}\n${lambda.logLines.join('\n')}`));
            continue;
          }
          const { id, ...result } = record as { id: number } & InvocationResult;
          lambda.results.set(id, result as InvocationResult);
          lambda.settle(id);
        }
      });
      child.on('exit', (code) => {
        lambda.exited = true;
        if (first) reject(new Error(`Runner exited (${code}) before init:\n${lambda.logLines.join('\n')}`));
        for (const settle of lambda.waiting.values()) {
          settle({ ok: false, error: { name: 'RunnerExited', message: `runner exited with ${code}` } });
        }
        lambda.waiting.clear();
      });
    });
    await ready;
    return lambda;
  }

  private settle(id: number): void {
    const result = this.results.get(id);
    if (!result || !this.logsDone.has(id)) return;
    this.waiting.get(id)?.(result);
    this.waiting.delete(id);
    this.results.delete(id);
    this.logsDone.delete(id);
  }

  /** Delivers one event; concurrent calls run concurrently inside the instance. */
  invoke<T = unknown>(
    event: unknown,
    options: { readonly invokedFunctionArn?: string } = {},
  ): Promise<InvocationResult<T>> {
    if (this.exited) throw new Error('The execution environment has exited');
    const id = this.nextId++;
    const result = new Promise<InvocationResult<T>>((resolve) => {
      this.waiting.set(id, resolve as (r: InvocationResult) => void);
    });
    this.child.stdin?.write(`${JSON.stringify({ id, event, ...options })}\n`);
    return result;
  }

  /** The JSON log records among the log lines. */
  get logRecords(): Record<string, unknown>[] {
    return this.logLines.flatMap((line) => {
      try {
        const value = JSON.parse(line);
        return typeof value === 'object' && value !== null ? [value as Record<string, unknown>] : [];
      } catch {
        return [];
      }
    });
  }

  /** Metric names emitted (EMF), one entry per data point. */
  metricCounts(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const record of this.logRecords) {
      const aws = record._aws as { CloudWatchMetrics?: { Metrics: { Name: string }[] }[] } | undefined;
      for (const name of aws?.CloudWatchMetrics?.flatMap((m) => m.Metrics.map((x) => x.Name)) ?? []) {
        const value = record[name];
        counts[name] = (counts[name] ?? 0) + (Array.isArray(value) ? value.length : 1);
      }
    }
    return counts;
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.stdin?.end();
    await exited;
  }
}
