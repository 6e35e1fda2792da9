import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { UpstreamSettings } from '../../../contract/broker-settings';
import type { ClientCredentials } from '../../../contract/credentials-secret';
import type { TokenMetadata, TokenRecord } from '../../../contract/token-cache-schema';
import type { CredentialStore, StoredCredentials } from '../../../lambda/aws/credential-store';
import type { GateRead } from '../../../lambda/aws/gate-store';
import type { TokenCache } from '../../../lambda/aws/token-cache';
import { CredentialsNotSetError, TokenCacheError } from '../../../lambda/errors/broker-errors';
import { metadataOf } from '../../../lambda/token/token-record';
import { EMPTY_GATE, type GateState } from '../../../lambda/upstream/gate-policy';
import type { GateStorage } from '../../../lambda/upstream/upstream-gate';

/**
 * In-memory stand-ins for what TokenMinter (lambda/minting/token-minter.ts) is given: credentials, the
 * token cache, the gate's storage, a clock, the logger, the metrics, and ThroughLine's token
 * endpoint as a function. No AWS, no network, no real time: each records what was asked of it, so a
 * unit test counts upstream requests and mints. The real classes have private fields, so these
 * implement their public members and are passed in with `as unknown as` (see `minterDeps`).
 */
type PublicOf<T> = { [K in keyof T]: T[K] };

/** Virtual time: `sleep` yields to everything pending, then moves the clock to the sleeper's wake time. */
export class VirtualClock {
  constructor(public nowMs: number) {}

  readonly now = (): number => this.nowMs;

  readonly sleep = async (ms: number): Promise<void> => {
    const wakeMs = this.nowMs + ms;
    await new Promise((resolve) => setImmediate(resolve));
    this.nowMs = Math.max(this.nowMs, wakeMs);
  };

  advance(ms: number): void {
    this.nowMs += ms;
  }
}

/** The credentials secret's AWSCURRENT version; undefined: a secret with no value yet. */
export class MemoryCredentialStore implements PublicOf<CredentialStore> {
  reads = 0;

  constructor(public current: StoredCredentials | undefined) {}

  async read(): Promise<StoredCredentials> {
    this.reads += 1;
    if (!this.current) throw new CredentialsNotSetError('The credentials secret has no AWSCURRENT value');
    return this.current;
  }
}

/** The one cached token item, with TokenCache's rule: a write loses to a stored token minted later. */
export class MemoryTokenCache implements PublicOf<TokenCache> {
  stored: TokenRecord | undefined;
  /** The stored token cannot be decrypted (a KMS or ciphertext problem): read() fails, metadata still reads. */
  undecryptable = false;
  writes = 0;

  async readMetadata(): Promise<TokenMetadata | undefined> {
    return this.stored ? metadataOf(this.stored) : undefined;
  }

  async read(): Promise<TokenRecord | undefined> {
    if (this.stored && this.undecryptable) {
      throw new TokenCacheError('Cached token could not be decrypted (InvalidCiphertextException)');
    }
    return this.stored;
  }

  async write(record: TokenRecord): Promise<boolean> {
    this.writes += 1;
    if (this.stored && this.stored.mintedAt > record.mintedAt) return false;
    this.stored = record;
    this.undecryptable = false;
    return true;
  }

  async flush(): Promise<boolean> {
    const had = this.stored !== undefined;
    this.stored = undefined;
    return had;
  }
}

/** The gate's item with its optimistic-concurrency version, as GateStore keeps it in DynamoDB. */
export class MemoryGateStorage implements GateStorage {
  stored: GateState = EMPTY_GATE;

  async read(): Promise<GateRead> {
    return { state: this.stored, corrupt: false };
  }

  async write(next: GateState): Promise<boolean> {
    if (next.version !== this.stored.version) return false;
    this.stored = { ...next, version: next.version + 1 };
    return true;
  }
}

/** What ThroughLine's token endpoint does with one request. */
export type UpstreamAnswer =
  /** 200 with a new access token (`expires_in` 3600 unless given; `extra` fields merged into the body). */
  | { readonly kind: 'token'; readonly extra?: Record<string, unknown> }
  /** The request fails as `requestClientCredentialsToken` reports it: a BrokerError (or anything thrown). */
  | { readonly kind: 'error'; readonly error: Error }
  /** Whatever the test does meanwhile (e.g. another writer), then the answer it returns. */
  | { readonly kind: 'custom'; readonly answer: (request: UpstreamRequest) => Promise<unknown> };

export interface UpstreamRequest {
  readonly clientId: string;
  readonly timeoutMs: number;
}

/**
 * ThroughLine's token endpoint as `requestClientCredentialsToken` (lambda/upstream/oauth-client.ts) is
 * called: answers are taken in order and the last one repeats; every request is recorded (the client
 * id, never the secret). `request` has that function's signature.
 */
export class ScriptedUpstream {
  readonly requests: UpstreamRequest[] = [];
  private issued = 0;

  constructor(private answers: readonly UpstreamAnswer[] = [{ kind: 'token' }]) {}

  script(...answers: UpstreamAnswer[]): void {
    this.answers = answers;
  }

  readonly request = async (
    credentials: ClientCredentials,
    _upstream: UpstreamSettings,
    timeoutMs: number,
  ): Promise<unknown> => {
    const request = { clientId: credentials.clientId, timeoutMs };
    const answer = this.answers[Math.min(this.requests.length, this.answers.length - 1)] ?? { kind: 'token' };
    this.requests.push(request);
    switch (answer.kind) {
      case 'token':
        this.issued += 1;
        return {
          access_token: `tok-${this.issued}-${'x'.repeat(24)}`,
          token_type: 'Bearer',
          expires_in: 3600,
          ...answer.extra,
        };
      case 'error':
        throw answer.error;
      case 'custom':
        return answer.answer(request);
    }
  };
}

export interface LogRecord {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly message: string;
  readonly extra: unknown[];
}

/** Powertools Logger's methods TokenMinter calls, recorded. */
export class RecordingLogger {
  readonly records: LogRecord[] = [];
  readonly debug = (message: string, ...extra: unknown[]) =>
    this.records.push({ level: 'debug', message, extra });
  readonly info = (message: string, ...extra: unknown[]) =>
    this.records.push({ level: 'info', message, extra });
  readonly warn = (message: string, ...extra: unknown[]) =>
    this.records.push({ level: 'warn', message, extra });
  readonly error = (message: string, ...extra: unknown[]) =>
    this.records.push({ level: 'error', message, extra });
}

export interface MetricPoint {
  readonly name: string;
  readonly value: number;
  readonly dimensions: Readonly<Record<string, string>>;
}

/** Powertools Metrics' methods TokenMinter calls (addMetric, singleMetric + addDimension), recorded. */
export class RecordingMetrics {
  constructor(
    /** Every point, of this emitter and of its single-metric emitters. */
    readonly points: MetricPoint[] = [],
    private readonly dimensions: Record<string, string> = {},
  ) {}

  readonly addMetric = (name: string, _unit: unknown, value: number): void => {
    this.points.push({ name, value, dimensions: { ...this.dimensions } });
  };

  readonly addDimension = (name: string, value: string): void => {
    this.dimensions[name] = value;
  };

  /** A single-metric emitter with its own dimensions, whose points land here. */
  readonly singleMetric = (): RecordingMetrics => new RecordingMetrics(this.points);

  /** Sum of the points of `name`: all of them, or those carrying `dimensions`. */
  sum(name: string, dimensions: Record<string, string> = {}): number {
    return this.points
      .filter((p) => p.name === name && Object.entries(dimensions).every(([k, v]) => p.dimensions[k] === v))
      .reduce((total, p) => total + p.value, 0);
  }

  /** Sum of the points of `name` that carry no dimension (the all-reasons series). */
  sumUndimensioned(name: string): number {
    return this.points
      .filter((p) => p.name === name && Object.keys(p.dimensions).length === 0)
      .reduce((total, p) => total + p.value, 0);
  }
}

/** The fakes as TokenMinterDeps types them (the real classes have private fields). */
export function minterDeps(deps: {
  readonly credentials: MemoryCredentialStore;
  readonly cache: MemoryTokenCache;
  readonly logger: RecordingLogger;
  readonly metrics: RecordingMetrics;
}) {
  return {
    credentials: deps.credentials as unknown as CredentialStore,
    cache: deps.cache as unknown as TokenCache,
    logger: deps.logger as unknown as Logger,
    metrics: deps.metrics as unknown as Metrics,
  };
}
