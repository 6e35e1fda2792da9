import { spawn } from 'node:child_process';
import * as path from 'node:path';

/** Module load time (first invocation only) and handler time, measured inside the process. */
export interface InvocationTiming {
  readonly initMs: number;
  readonly invokeMs: number;
}

export type InvocationResult<T = unknown> =
  | { readonly ok: true; readonly value: T; readonly timing?: InvocationTiming }
  | {
      readonly ok: false;
      readonly error: { readonly name: string; readonly message: string };
      readonly phase?: string;
      readonly timing?: InvocationTiming;
    };

export interface InvokeOutcome<T = unknown> {
  readonly results: InvocationResult<T>[];
  /** Every line the process wrote to stdout or stderr: what CloudWatch Logs would hold. */
  readonly logLines: string[];
  /** The JSON log records among them. */
  readonly logRecords: Record<string, unknown>[];
}

const RUNNER = path.join(__dirname, 'lambda-runner.cjs');

/**
 * Invokes a bundled handler in a fresh Node process (a cold execution environment) with only the
 * given environment — nothing leaks in from the test process — and delivers `events` one by one.
 */
export async function invokeBundled<T = unknown>(options: {
  readonly bundle: string;
  readonly env: Record<string, string>;
  readonly events: readonly unknown[];
  readonly lambdaTimeoutMs?: number;
}): Promise<InvokeOutcome<T>> {
  const child = spawn(process.execPath, [RUNNER, options.bundle, String(options.lambdaTimeoutMs ?? 30_000)], {
    env: { PATH: process.env.PATH ?? '', ...options.env },
    stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let results = '';
  child.stdout?.on('data', (c) => {
    out += c;
  });
  child.stderr?.on('data', (c) => {
    out += c;
  });
  (child.stdio[3] as NodeJS.ReadableStream).on('data', (c) => {
    results += c;
  });
  child.stdin?.end(JSON.stringify(options.events));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const parsedResults = results
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as InvocationResult<T>);
  if (code !== 0 && parsedResults.length === 0)
    throw new Error(`Lambda runner failed (exit ${code}):\n${out}`);
  const logLines = out.split('\n').filter((l) => l.trim().length > 0);
  const logRecords = logLines.flatMap((l) => {
    try {
      const v = JSON.parse(l);
      return typeof v === 'object' && v !== null ? [v as Record<string, unknown>] : [];
    } catch {
      return [];
    }
  });
  return { results: parsedResults, logLines, logRecords };
}
