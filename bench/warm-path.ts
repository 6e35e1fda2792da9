import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { TokenCache } from '../lambda/aws/token-cache';
import { TokenCipher } from '../lambda/aws/token-cipher';
import { tokenRequestEvent } from '../test/kit/builders/api-gateway-event';
import { ServeTokenBroker } from '../test/kit/builders/serve-token-world';
import { LambdaInvokeEmulator } from '../test/kit/emulators/lambda-invoke';
import { RecordingAwsProxy } from '../test/kit/emulators/recording-aws-proxy';
import { FakeTokenServer } from '../test/kit/fakes/token-server';
import { MOTO_CREDENTIALS, MOTO_REGION } from '../test/kit/local-aws/moto';
import type { BenchEnv } from './support/bench-env';
import type { ReportSection } from './support/report';
import { fmt, percentile } from './support/stats';

interface WarmFigures {
  readonly iterations: number;
  readonly non200: number;
  readonly p50: number;
  readonly p99: number;
  readonly awsCalls: number;
}

/** Runs the bundled serve-token in one process: one L2-hit warm-up, then `iterations` timed L1 hits. */
async function l1Loop(
  bundle: string,
  env: Record<string, string>,
  proxy: RecordingAwsProxy,
  iterations: number,
) {
  const child = spawn(
    process.execPath,
    [path.join(__dirname, 'warm-path-runner.cjs'), bundle, String(iterations)],
    {
      env: { PATH: process.env.PATH ?? '', ...env, BENCH_EVENT: JSON.stringify(tokenRequestEvent()) },
      stdio: ['pipe', 'ignore', 'ignore', 'pipe'],
    },
  );
  const lines: Record<string, unknown>[] = [];
  let buffer = '';
  let callsBefore = 0;
  await new Promise<void>((resolve, reject) => {
    (child.stdio[3] as NodeJS.ReadableStream).on('data', (chunk) => {
      buffer += chunk;
      const parts = buffer.split('\n');
      buffer = parts.pop() ?? '';
      for (const part of parts) {
        const record = JSON.parse(part) as Record<string, unknown>;
        lines.push(record);
        if (record.warmedUp) {
          callsBefore = proxy.calls.length;
          child.stdin?.write('g');
        }
      }
    });
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`warm path runner: ${JSON.stringify(lines)}`)),
    );
  });
  const result = lines.at(-1) as { iterations: number; non200: number; p50: number; p99: number };
  return { ...result, awsCalls: proxy.calls.length - callsBefore } satisfies WarmFigures;
}

/**
 * Warm path: serve-token answering from memory (L1) — per-request latency and AWS calls made —
 * beside the shared-cache read (L2: DynamoDB GetItem + KMS Decrypt against moto_server).
 */
export async function benchWarmPath(
  env: BenchEnv,
  iterations: number,
  l2Reads: number,
): Promise<ReportSection> {
  const server = await FakeTokenServer.start(env.tls);
  const standIn = await LambdaInvokeEmulator.start();
  const proxy = await RecordingAwsProxy.start(env.localAws.motoEndpoint);
  const broker = await ServeTokenBroker.createFrom(
    { bundles: env.bundles, localEnv: env.localAws },
    { tokenServer: server, standIn, proxy },
  );
  try {
    await broker.mint.invoke({ action: 'ensure' });
    const serve = env.bundles.ServeToken;
    if (!serve) throw new Error('ServeToken bundle missing');
    const l1 = await l1Loop(
      serve.bundle,
      broker.serveEnv({ settings: { l1MaxAgeSeconds: 300 } }),
      proxy,
      iterations,
    );

    // L2: the same cache code serve-token runs on a miss of L1, timed request by request.
    const aws = { endpoint: proxy.endpoint, region: MOTO_REGION, credentials: MOTO_CREDENTIALS };
    const cache = new TokenCache(
      new DynamoDBClient(aws),
      broker.fixture.tableName,
      new TokenCipher(new KMSClient(aws), broker.fixture.keyArn, broker.fixture.tableName),
    );
    const before = proxy.calls.length;
    const samples: number[] = [];
    for (let i = 0; i < l2Reads; i++) {
      const started = process.hrtime.bigint();
      const record = await cache.read();
      samples.push(Number(process.hrtime.bigint() - started) / 1e6);
      if (!record) throw new Error('L2 read found no token');
    }
    const l2Calls = proxy.calls.length - before;
    return {
      title: 'Warm path',
      method: `L1: the bundled serve-token in one process (a warm execution environment), ${l1.iterations.toLocaleString('en')} API Gateway requests in a row after one warm-up; AWS calls counted by a recording proxy in front of moto_server. L2: ${l2Reads} reads of the shared cache (the code serve-token runs when L1 cannot answer) against moto_server on loopback.`,
      columns: ['path', 'requests', 'p50 ms', 'p99 ms', 'AWS calls', 'goal'],
      rows: [
        [
          'L1 hit (in-memory)',
          String(l1.iterations),
          fmt(l1.p50, 3),
          fmt(l1.p99, 3),
          String(l1.awsCalls),
          '0 AWS calls',
        ],
        [
          'L2 hit (DynamoDB GetItem + KMS Decrypt, moto)',
          String(l2Reads),
          fmt(percentile(samples, 50), 2),
          fmt(percentile(samples, 99), 2),
          String(l2Calls),
          '—',
        ],
      ],
      notes: [
        `L1: ${l1.non200} non-200 answers. Handler time only; API Gateway and Lambda add their own overhead in AWS.`,
        'L2 latency here is loopback to moto_server; in AWS, expect single-digit milliseconds per call.',
      ],
    };
  } finally {
    await broker.stop();
    await standIn.stop();
    await proxy.stop();
    await server.stop();
  }
}
