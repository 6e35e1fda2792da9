import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { OPERATOR_ALIAS } from '../../contract/mint-token-payload';
import { type InvokeOutcome, invokeBundled } from '../kit/runners/invoke-bundled';
import { BrokerFixture, makeCredentials } from '../kit/vitest/broker-fixture';

/**
 * Nothing foreign leaves mint-token or rotate-credentials. A stand-in for Secrets Manager answers
 * every call with a mangled response that contains the client secret — what a broken proxy or TLS
 * interceptor could return. The SDK's JSON.parse fails on it, and V8 quotes the text it choked on;
 * the bundled functions must turn that into a broker error naming only the class (ForeignError).
 */

const secret = `S3cr3t-${randomBytes(16).toString('hex')}`;
/** Any 8 consecutive characters of the secret count as a leak (the original leak was 10). */
function expectNoPieceOfSecret(texts: readonly string[]): void {
  const haystack = texts.join('\n');
  if (process.env.DEBUG_LEAK) console.log(texts.filter((t) => t.includes(secret.slice(0, 8))));
  for (let i = 0; i + 8 <= secret.length; i++) {
    const piece = secret.slice(i, i + 8);
    expect(haystack.includes(piece), `characters ${i}–${i + 8} of the secret leaked`).toBe(false);
  }
}

/** The mangled body: a GetSecretValue answer whose SecretString lost its quotes. */
const mangled = (arn: string) =>
  `{"ARN":"${arn}","Name":"credentials","SecretString":{"client_id":"id","client_secret":${secret}}`;

let standIn: Server;
let standInUrl: string;
const calls: string[] = [];

beforeAll(async () => {
  standIn = createServer((req, res) => {
    calls.push(String(req.headers['x-amz-target']));
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
      res.end(mangled('arn:aws:secretsmanager:eu-west-2:123456789012:secret:credentials-AbC123'));
    });
  });
  await new Promise<void>((resolve) => standIn.listen(0, '127.0.0.1', resolve));
  standInUrl = `http://127.0.0.1:${(standIn.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => standIn.close(resolve));
});

const bundled = (name: 'MintToken' | 'RotateCredentials') => {
  const fn = inject('bundledFunctions')[name];
  if (!fn) throw new Error(`${name} bundle not found in the synthesized app`);
  return fn;
};

function everything(outcome: InvokeOutcome): string[] {
  return [...outcome.logLines, JSON.stringify(outcome.results)];
}

describe('a mangled GetSecretValue answer that quotes the secret', () => {
  it('the stand-in really produces a JSON.parse message that quotes the secret (the leak this guards against)', () => {
    let message = '';
    try {
      JSON.parse(mangled('arn'));
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain(secret.slice(0, 10));
  });

  it('mint-token fails with ForeignError, and nothing of the secret is in its logs or error payload', async () => {
    // Prepare
    const fixture = await BrokerFixture.create(makeCredentials());
    const env = {
      ...fixture.functionEnv(bundled('MintToken').environment, () => {}),
      AWS_ENDPOINT_URL_SECRETS_MANAGER: standInUrl,
      // Through the operator alias, the only entry point that may force a refresh (as the CLI does).
      LOCAL_INVOKED_FUNCTION_ARN: `arn:aws:lambda:us-east-1:123456789012:function:mint-token:${OPERATOR_ALIAS}`,
    };
    calls.length = 0;

    // Act
    const outcome = await invokeBundled({
      bundle: bundled('MintToken').bundle,
      env,
      events: [
        { action: 'ensure', requestedBy: 'test' },
        { action: 'refresh', force: true },
      ],
    });

    // Assess
    expect(calls.filter((c) => c.endsWith('GetSecretValue')).length).toBeGreaterThanOrEqual(1);
    expect(outcome.results).toHaveLength(2);
    for (const result of outcome.results) {
      expect(result.ok).toBe(false);
      if (!result.ok) {
        expect(result.phase).not.toBe('init');
        expect(result.error.name).toBe('ForeignError');
        expect(result.error.message).toMatch(/^Reading the credentials secret .* failed with SyntaxError/);
      }
    }
    expectNoPieceOfSecret(everything(outcome));
  });

  it('rotate-credentials fails with a broker error, and nothing of the secret is in its logs or error payload', async () => {
    // Prepare
    const fixture = await BrokerFixture.create(makeCredentials());
    const env = {
      ...fixture.functionEnv(bundled('RotateCredentials').environment, () => {}),
      // Never reached: the rotation fails on its first Secrets Manager call.
      MINT_TOKEN_FUNCTION_NAME: 'mint-token',
      AWS_ENDPOINT_URL_SECRETS_MANAGER: standInUrl,
    };
    calls.length = 0;

    // Act
    const outcome = await invokeBundled({
      bundle: bundled('RotateCredentials').bundle,
      env,
      events: ['createSecret', 'testSecret'].map((Step) => ({
        SecretId: fixture.secretArn,
        ClientRequestToken: randomUUID(),
        Step,
      })),
    });

    // Assess
    expect(calls.length).toBeGreaterThanOrEqual(2);
    expect(outcome.results).toHaveLength(2);
    for (const result of outcome.results) {
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.error.name).toBe('ForeignError');
    }
    expectNoPieceOfSecret(everything(outcome));
  });
});
