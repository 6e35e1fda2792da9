import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FakeTokenApi, type ProxyBehaviour } from '../kit/fakes/fake-token-api';

/**
 * examples/python/throughline_proxy.py (botocore's SigV4 signer + urllib) against the local API that
 * verifies SigV4 like API Gateway: python3 runs a small driver that imports the module, with
 * credentials and region from the environment (botocore's default chain), and prints what it got;
 * the test asserts on that and on what the fake recorded. Waits go through an injected sleep on a
 * virtual clock: counted, never timed. python3 with botocore is required (CI has both, with moto):
 * without them this file fails, it does not skip.
 */
const execFileAsync = promisify(execFile);
const EXAMPLE_DIR = path.join(__dirname, '..', '..', 'examples', 'python');
const PYTHON = process.env.PYTHON ?? 'python3';
const CREDENTIALS = {
  accessKeyId: 'AKIDPYTHONTEST',
  secretAccessKey: 'python-test-secret-key',
  sessionToken: 'python-test-session-token',
};
const REGION = 'eu-west-2';

/** Reads a JSON spec from argv, runs its calls, prints one JSON line. */
const DRIVER = `
import json, os, sys
sys.path.insert(0, os.environ["EXAMPLE_DIR"])
import throughline_proxy as tp

spec = json.loads(sys.argv[1])
clock = [1000.0]
waits = []

def sleep(seconds):
    waits.append(seconds)
    clock[0] += seconds

proxy = tp.ThroughLineProxy(spec["api_url"], sleep=sleep, clock=lambda: clock[0], **spec.get("options", {}))
results = []
for call in spec["calls"]:
    try:
        if "json" in call:
            r = proxy.post_json(call["path"], call["json"], params=call.get("params"))
        else:
            r = proxy.get(call["path"], params=call.get("params"))
        results.append({"status": r.status, "body": r.text(), "cache": r.cache_status,
                        "retry_after": r.headers.get("retry-after")})
    except tp.ProxyError as e:
        results.append({"error": type(e).__name__, "status": e.status, "code": e.code,
                        "retry_after": e.retry_after, "retryable": e.retryable, "message": str(e),
                        "forwarded": getattr(e, "forwarded", None), "quota_share": getattr(e, "quota_share", None)})
print(json.dumps({"results": results, "waits": waits, "endpoint": proxy.endpoint, "region": proxy.region}))
`;

interface Call {
  readonly path: string;
  readonly params?: Record<string, string | number | boolean>;
  readonly json?: unknown;
}
interface DriverOutput {
  readonly results: Record<string, unknown>[];
  readonly waits: number[];
  readonly endpoint: string;
  readonly region: string;
  readonly stdout: string;
  readonly stderr: string;
}

/** The environment botocore's default chain reads: these credentials only, no profile, no IMDS, no proxy. */
function pythonEnv(credentials: typeof CREDENTIALS = CREDENTIALS): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('AWS_') && !/_proxy$/i.test(key)) env[key] = value;
  }
  return {
    ...env,
    EXAMPLE_DIR,
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    AWS_SESSION_TOKEN: credentials.sessionToken,
    AWS_DEFAULT_REGION: REGION,
    AWS_CONFIG_FILE: '/nonexistent/config',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/credentials',
    AWS_EC2_METADATA_DISABLED: 'true',
    NO_PROXY: '*',
    PYTHONDONTWRITEBYTECODE: '1',
  };
}

async function runPython(
  calls: readonly Call[],
  options: Record<string, unknown> = {},
  credentials?: typeof CREDENTIALS,
  apiUrl: string = api.url,
): Promise<DriverOutput> {
  if (pythonProblem) throw new Error(pythonProblem);
  const spec = JSON.stringify({ api_url: apiUrl, options, calls });
  // Async: the fake answers from this process's event loop while python3 runs.
  const { stdout, stderr } = await execFileAsync(PYTHON, ['-c', DRIVER, spec], {
    env: pythonEnv(credentials),
    timeout: 60_000,
  });
  const last = stdout.trim().split('\n').pop() ?? '';
  return { ...(JSON.parse(last) as Omit<DriverOutput, 'stdout' | 'stderr'>), stdout, stderr };
}

let api: FakeTokenApi;
/** Why python3 with botocore cannot run here, if it cannot: every test then fails with it (none skips). */
let pythonProblem: string | undefined;
beforeAll(async () => {
  try {
    await execFileAsync(
      PYTHON,
      [
        '-c',
        'import sys, botocore; assert sys.version_info >= (3, 8), sys.version; print(botocore.__version__)',
      ],
      { env: pythonEnv(), timeout: 60_000 },
    );
  } catch (error) {
    const err = error as { code?: string; stderr?: string; message?: string };
    pythonProblem =
      `The Python example's tests need ${PYTHON} (3.8+) with botocore; CI machines have both (botocore comes with moto[server]). ` +
      (err.code === 'ENOENT'
        ? `${PYTHON} was not found on PATH.`
        : `It failed: ${(err.stderr ?? err.message ?? '').trim().split('\n').pop()}`);
  }
  api = await FakeTokenApi.start(CREDENTIALS, REGION);
});
afterAll(async () => {
  await api.stop();
});
beforeEach(() => api.reset());

const refusal = (
  status: number,
  code: Extract<ProxyBehaviour, { kind: 'refusal' }>['code'],
  retryAfterSeconds?: number,
  headers?: Record<string, string>,
): ProxyBehaviour => ({
  kind: 'refusal',
  status,
  code,
  message: `Fixed text for ${code}.`,
  ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}),
  ...(headers ? { headers } : {}),
});

describe('examples/python/throughline_proxy.py against the SigV4-verifying API', () => {
  it('python3 with botocore is here (required: this fails, never skips, without them)', () => {
    expect(pythonProblem).toBeUndefined();
  });

  it('GET: signed for execute-api with env credentials; path and query (a space as %20) arrive as signed', async () => {
    api.enqueueThroughLine({ kind: 'upstream', status: 200, body: { helplines: [{ id: 'h-1' }] } });

    const out = await runPython([
      {
        path: '/v2/helplines?country_code=nz',
        params: { topic: 'Abuse & domestic violence', priority_only: true },
      },
    ]);

    expect(out.results).toEqual([
      { status: 200, body: '{"helplines":[{"id":"h-1"}]}', cache: 'miss', retry_after: null },
    ]);
    expect(out.endpoint).toBe(`${api.url}throughline/`);
    expect(out.region).toBe(REGION);
    expect(api.requests).toHaveLength(1);
    const request = api.requests[0];
    expect(request).toMatchObject({
      method: 'GET',
      path: '/v1/throughline/v2/helplines',
      throughLinePath: '/v2/helplines',
      rawQuery: 'country_code=nz&topic=Abuse%20%26%20domestic%20violence&priority_only=true',
      query: { country_code: 'nz', topic: 'Abuse & domestic violence', priority_only: 'true' },
      body: '',
      signatureValid: true,
    });
    expect(request?.headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDPYTHONTEST\/\d{8}\/eu-west-2\/execute-api\/aws4_request, SignedHeaders=[a-z0-9;-]*host[a-z0-9;-]*, Signature=[0-9a-f]{64}$/,
    );
    expect(request?.headers['x-amz-security-token']).toBe(CREDENTIALS.sessionToken);
  });

  it('POST JSON: the body is signed (its SHA-256) and arrives byte for byte, with Content-Type', async () => {
    api.enqueueThroughLine({ kind: 'upstream', status: 202, body: {} });
    const event = { helpline_id: 'h-1', session_id: 's-1', timestamp: '2026-12-01T09:30:00Z' };

    const out = await runPython([{ path: 'v2/events/helpline_display', json: event }]);

    expect(out.results).toEqual([{ status: 202, body: '{}', cache: 'miss', retry_after: null }]);
    const request = api.requests[0];
    expect(request).toMatchObject({
      method: 'POST',
      throughLinePath: '/v2/events/helpline_display',
      signatureValid: true,
    });
    expect(request?.body).toBe(JSON.stringify(event));
    expect(request?.headers['content-type']).toBe('application/json');
    expect(request?.headers.authorization).toMatch(/SignedHeaders=[a-z0-9;-]*content-type/);
  });

  it('takes the ThroughLineProxyBaseUrl output as well as TokenApiUrl', async () => {
    const out = await runPython([{ path: '/v2/topics' }], {}, undefined, `${api.url}throughline/`);

    expect(out.endpoint).toBe(`${api.url}throughline/`);
    expect(out.results[0]).toMatchObject({ status: 200 });
    expect(api.requests[0]).toMatchObject({ path: '/v1/throughline/v2/topics', signatureValid: true });
  });

  it('credentials the API does not trust → AccessDeniedError, one request (the check can fail)', async () => {
    const out = await runPython([{ path: '/v2/topics' }], {}, { ...CREDENTIALS, secretAccessKey: 'not-it' });

    expect(out.results[0]).toMatchObject({ error: 'AccessDeniedError', status: 403 });
    expect(api.requests.map((r) => r.signatureValid)).toEqual([false]);
  });

  it("ThroughLine's 404 and 400 come back unchanged, not retried", async () => {
    api.enqueueThroughLine(
      { kind: 'upstream', status: 404, body: '{"detail":"no such helpline"}' },
      { kind: 'upstream', status: 400, body: '{"errors":["timestamp"]}' },
    );

    const out = await runPython([
      { path: '/v2/helplines/h-404' },
      { path: '/v2/events/helpline_click', json: { helpline_id: 'h-1' } },
    ]);

    expect(out.results).toEqual([
      { status: 404, body: '{"detail":"no such helpline"}', cache: 'miss', retry_after: null },
      { status: 400, body: '{"errors":["timestamp"]}', cache: 'miss', retry_after: null },
    ]);
    expect(api.throughLineRequests).toHaveLength(2);
    expect(out.waits).toEqual([]);
  });

  it("the broker's 503 with Retry-After: waits that long, asks again (GET and POST), then succeeds", async () => {
    api.enqueueThroughLine(
      refusal(503, 'rate_limited', 2),
      { kind: 'upstream', status: 200, body: { countries: [] } },
      refusal(503, 'token_unavailable', 1),
      { kind: 'upstream', status: 202, body: {} },
    );

    const out = await runPython([
      { path: '/v2/countries' },
      { path: '/v2/events/helpline_display', json: { helpline_id: 'h-1' } },
    ]);

    expect(out.results.map((r) => r.status)).toEqual([200, 202]);
    const requests = api.throughLineRequests;
    expect(requests.map((r) => `${r.method} ${r.throughLinePath}`)).toEqual([
      'GET /v2/countries',
      'GET /v2/countries',
      'POST /v2/events/helpline_display',
      'POST /v2/events/helpline_display',
    ]);
    expect(requests.every((r) => r.signatureValid)).toBe(true);
    expect(requests[3]?.body).toBe(requests[2]?.body);
    expect(out.waits).toHaveLength(2);
    expect(out.waits[0]).toBeGreaterThanOrEqual(2);
    expect(out.waits[1]).toBeGreaterThanOrEqual(1);
  });

  it('429 quota_share_exhausted with a Retry-After beyond the budget → BrokerRefusalError at once, one request', async () => {
    api.enqueueThroughLine(
      refusal(429, 'quota_share_exhausted', 7200, { 'x-broker-quota-share': 'remaining=0; daily=150' }),
    );

    const out = await runPython([{ path: '/v2/helplines', params: { country_code: 'nz' } }], {
      total_budget_seconds: 45,
    });

    expect(out.results).toEqual([
      expect.objectContaining({
        error: 'BrokerRefusalError',
        status: 429,
        code: 'quota_share_exhausted',
        retry_after: 7200,
        retryable: true,
        forwarded: false,
        quota_share: 'remaining=0; daily=150',
      }),
    ]);
    expect(api.throughLineRequests).toHaveLength(1);
    expect(out.waits).toEqual([]);
  });

  it("POST: ThroughLine's own 429 is not retried; its answer and Retry-After come back", async () => {
    api.enqueueThroughLine({
      kind: 'upstream',
      status: 429,
      body: { message: 'Too Many Requests' },
      headers: { 'retry-after': '1' },
    });

    const out = await runPython([{ path: '/v2/events/helpline_click', json: { helpline_id: 'h-1' } }]);

    expect(out.results).toEqual([
      { status: 429, body: '{"message":"Too Many Requests"}', cache: 'miss', retry_after: '1' },
    ]);
    expect(api.throughLineRequests).toHaveLength(1);
    expect(out.waits).toEqual([]);
  });

  it('refuses absolute URLs and ".." before sending anything', async () => {
    const out = await runPython([
      { path: 'https://evil.example/v2/helplines' },
      { path: '/v2/../token' },
      { path: '/v2/%2e%2E/token' },
    ]);

    expect(out.results.map((r) => r.error)).toEqual([
      'InvalidPathError',
      'InvalidPathError',
      'InvalidPathError',
    ]);
    expect(api.requests).toHaveLength(0);
  });

  it('no output or error message names the secret key, the session token or a signature', async () => {
    api.enqueueThroughLine(
      refusal(429, 'quota_share_exhausted', 9999),
      refusal(502, 'upstream_unavailable'),
      { kind: 'gateway', status: 403, body: { message: 'Forbidden' } },
      { kind: 'refusal', status: 500, code: 'internal_error', message: `tl-at-SECRET\n${'x'.repeat(600)}` },
    );

    const out = await runPython(
      [
        { path: '/v2/helplines' },
        { path: '/v2/helplines' },
        { path: '/v2/helplines' },
        { path: '/v2/topics' },
      ],
      { max_attempts: 1 },
    );

    expect(out.results.map((r) => r.error)).toEqual([
      'BrokerRefusalError',
      'BrokerRefusalError',
      'AccessDeniedError',
      'BrokerRefusalError',
    ]);
    const signatures = api.requests.map(
      (r) => /Signature=([0-9a-f]{64})/.exec(String(r.headers.authorization))?.[1],
    );
    expect(signatures).toHaveLength(4);
    const text = out.stdout + out.stderr;
    for (const secret of [
      CREDENTIALS.secretAccessKey,
      CREDENTIALS.sessionToken,
      'AWS4-HMAC-SHA256',
      'SECRET',
      ...(signatures as string[]),
    ]) {
      expect(text).not.toContain(secret);
    }
  });
});
