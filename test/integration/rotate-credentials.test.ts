import { randomUUID } from 'node:crypto';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SecretsManagerClient, TagResourceCommand } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { CredentialAdmin } from '../../cli/operations/credential-admin';
import { TokenAdmin } from '../../cli/operations/token-admin';
import { MetricName } from '../../lambda/core/metric-names';
import { MintTokenInvoker } from '../../lambda/core/mint-token-invoker';
import { parseProgress, ROTATION_PROGRESS_TAG } from '../../lambda/core/rotation/rotation-progress';
import { awsClientConfig, makeCredentials, type TestCredentials } from '../support/broker-fixture';
import type { InvokeOutcome } from '../support/invoke-bundled';
import { LambdaInvokeServer } from '../support/lambda-invoke-server-rotation';
import { expectNoSecretIn } from '../support/leaks';
import { RotationFixture, type RotationStepName } from '../support/rotation-fixture';
import { FakeTokenServer } from '../support/token-server';

/**
 * The bundled rotate-credentials function, driven step by step as Secrets Manager drives it, against
 * moto_server (staging labels, DynamoDB, KMS), the local HTTPS token endpoint, and the bundled
 * mint-token behind a local Lambda Invoke stand-in.
 */
const ALL_STEPS: readonly RotationStepName[] = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'];

let server: FakeTokenServer;
let lambdaServer: LambdaInvokeServer;

beforeAll(async () => {
  server = await FakeTokenServer.start(inject('trustedTls'));
  lambdaServer = await LambdaInvokeServer.start();
});
afterAll(async () => {
  await server.stop();
  await lambdaServer.stop();
});
beforeEach(() => {
  server.reset();
  lambdaServer.reset();
});

async function brokerWith(creds: TestCredentials | string | undefined): Promise<RotationFixture> {
  return RotationFixture.create(creds, lambdaServer, server.url);
}

/** A broker whose cache holds a token minted with `creds`, as in normal operation before a rotation. */
async function runningBroker(creds: TestCredentials) {
  const fixture = await brokerWith(creds);
  const primed = (await fixture.mint()) as { outcome: string; credentialVersionId: string };
  expect(primed.outcome).toBe('minted');
  return { fixture, oldVersion: primed.credentialVersionId };
}

function results(outcome: InvokeOutcome) {
  return outcome.results.map((r) => (r.ok ? 'ok' : r.error.name));
}

function metricNames(outcome: InvokeOutcome): string[] {
  return outcome.logRecords.flatMap((r) => {
    const aws = r._aws as { CloudWatchMetrics?: { Metrics: { Name: string }[] }[] } | undefined;
    return aws?.CloudWatchMetrics?.flatMap((m) => m.Metrics.map((x) => x.Name)) ?? [];
  });
}

function expectNoLeaks(outcomes: InvokeOutcome[], secrets: string[]): void {
  expectNoSecretIn(
    [...outcomes.flatMap((o) => [...o.logLines, JSON.stringify(o.results)]), ...lambdaServer.allText()],
    [...secrets, ...server.issuedTokens],
  );
}

async function progressOf(fixture: RotationFixture) {
  const tags = (await fixture.describe()).Tags ?? [];
  return parseProgress(tags.find((t) => t.Key === ROTATION_PROGRESS_TAG)?.Value);
}

describe('rotate-credentials (bundled) — happy path', () => {
  it('promotes the staged credentials after a real test mint, and the cache then holds a token of the new version', async () => {
    const oldCreds = makeCredentials();
    const { fixture, oldVersion } = await runningBroker(oldCreds);
    const newCreds = makeCredentials();
    const token = await fixture.stage(newCreds);

    const untilTest = await fixture.steps(token, ['createSecret', 'setSecret', 'testSecret']);

    expect(results(untilTest)).toEqual(['ok', 'ok', 'ok']);
    // testSecret minted with the staged credentials, and only that: the cache still serves the old token.
    expect(server.requests.map((r) => r.form.client_id)).toEqual([oldCreds.client_id, newCreds.client_id]);
    expect(server.requests[1]?.form.client_secret).toBe(newCreds.client_secret);
    expect(await fixture.broker.rawCachedItem()).toMatchObject({ credentialVersionId: { S: oldVersion } });
    expect(await fixture.versionWith('AWSCURRENT')).toBe(oldVersion);

    const finish = await fixture.steps(token, ['finishSecret']);

    expect(results(finish)).toEqual(['ok']);
    expect(await fixture.stages()).toEqual({ [oldVersion]: ['AWSPREVIOUS'], [token]: ['AWSCURRENT'] });
    expect(await fixture.broker.rawCachedItem()).toMatchObject({ credentialVersionId: { S: token } });
    expect(server.requests.map((r) => r.form.client_id)).toEqual([
      oldCreds.client_id,
      newCreds.client_id,
      newCreds.client_id,
    ]);
    const refresh = lambdaServer.invocations.at(-1);
    expect(refresh?.payload).toEqual({ action: 'refresh', requestedBy: 'rotation' });
    expect(metricNames(finish)).toContain(MetricName.CredentialsRotated);
    expect(await progressOf(fixture)).toMatchObject({ token, step: 'finishSecret', status: 'done' });
    expectNoLeaks([untilTest, finish], [oldCreds.client_secret, newCreds.client_secret]);
  });

  it('each step run twice is harmless, and a whole second pass after finishing changes nothing', async () => {
    const oldCreds = makeCredentials();
    const { fixture, oldVersion } = await runningBroker(oldCreds);
    const newCreds = makeCredentials();
    const token = await fixture.stage(newCreds);

    const twice = await fixture.steps(
      token,
      ALL_STEPS.flatMap((s) => [s, s]),
    );

    expect(results(twice)).toEqual(Array(8).fill('ok'));
    expect(await fixture.stages()).toEqual({ [oldVersion]: ['AWSPREVIOUS'], [token]: ['AWSCURRENT'] });
    // priming mint, two test mints, one cache refresh: the second finishSecret found the new token fresh.
    expect(server.requests).toHaveLength(4);
    const cachedAfterFirstPass = await fixture.broker.rawCachedItem();
    expect(cachedAfterFirstPass).toMatchObject({ credentialVersionId: { S: token } });

    const again = await fixture.steps(token, ALL_STEPS);

    expect(results(again)).toEqual(['ok', 'ok', 'ok', 'ok']);
    expect(server.requests).toHaveLength(4);
    expect(await fixture.stages()).toEqual({ [oldVersion]: ['AWSPREVIOUS'], [token]: ['AWSCURRENT'] });
    expect(await fixture.broker.rawCachedItem()).toEqual(cachedAfterFirstPass);
    expectNoLeaks([twice, again], [oldCreds.client_secret, newCreds.client_secret]);
  });
});

describe('rotate-credentials (bundled) — failures leave AWSCURRENT untouched', () => {
  it('new credentials rejected by the token endpoint → testSecret fails, AWSCURRENT and the cache unchanged', async () => {
    const oldCreds = makeCredentials();
    const { fixture, oldVersion } = await runningBroker(oldCreds);
    const cachedBefore = await fixture.broker.rawCachedItem();
    const newCreds = makeCredentials();
    const token = await fixture.stage(newCreds);
    server.fallback = {
      kind: 'json',
      status: 401,
      body: { error: 'invalid_client', error_description: `unknown client ${newCreds.client_secret}` },
    };

    const outcome = await fixture.steps(token, ['createSecret', 'setSecret', 'testSecret']);

    expect(results(outcome)).toEqual(['ok', 'ok', 'StagedCredentialsTestFailedError']);
    const failure = outcome.results[2];
    expect(!failure?.ok && failure?.error.message).toMatch(/AWSCURRENT is unchanged/);
    expect(!failure?.ok && failure?.error.message).toMatch(/invalid_client/);
    // invalid_client is never retried: one request for the test.
    expect(server.requests.filter((r) => r.form.client_id === newCreds.client_id)).toHaveLength(1);
    expect(await fixture.versionWith('AWSCURRENT')).toBe(oldVersion);
    expect(await fixture.broker.rawCachedItem()).toEqual(cachedBefore);
    expect(await progressOf(fixture)).toMatchObject({
      token,
      step: 'testSecret',
      status: 'failed',
      error: 'StagedCredentialsTestFailedError',
      upstreamError: 'InvalidClientError',
    });
    expect(metricNames(outcome)).toContain(MetricName.RotationStepFailed);
    expectNoLeaks([outcome], [oldCreds.client_secret, newCreds.client_secret]);
  });

  it('no staged version for the token → createSecret fails with a clear error; nothing changes', async () => {
    const creds = makeCredentials();
    const { fixture, oldVersion } = await runningBroker(creds);
    const stagesBefore = await fixture.stages();
    const token = randomUUID();

    const outcome = await fixture.steps(token, ['createSecret']);

    expect(results(outcome)).toEqual(['RotationNotStagedError']);
    const failure = outcome.results[0];
    expect(!failure?.ok && failure?.error.message).toMatch(/no credentials are staged/);
    expect(!failure?.ok && failure?.error.message).toMatch(/npm run broker -- credentials rotate/);
    expect(await fixture.stages()).toEqual(stagesBefore);
    expect(await fixture.versionWith('AWSCURRENT')).toBe(oldVersion);
    expect(server.requests).toHaveLength(1);
  });

  it('finishSecret for a token that was never staged refuses to move AWSCURRENT', async () => {
    const creds = makeCredentials();
    const { fixture, oldVersion } = await runningBroker(creds);

    const outcome = await fixture.steps(randomUUID(), ['finishSecret']);

    expect(results(outcome)).toEqual(['RotationNotStagedError']);
    expect(await fixture.versionWith('AWSCURRENT')).toBe(oldVersion);
  });

  it('malformed staged credentials → StagedCredentialsInvalidError naming the problem, not the value', async () => {
    const creds = makeCredentials();
    const { fixture, oldVersion } = await runningBroker(creds);
    const token = await fixture.stage(
      JSON.stringify({ client_id: 'StagedIdValue1', client_secrt: 'StagedSecretValue1' }),
    );

    const outcome = await fixture.steps(token, ['createSecret']);

    expect(results(outcome)).toEqual(['StagedCredentialsInvalidError']);
    const failure = outcome.results[0];
    expect(!failure?.ok && failure?.error.message).toMatch(/"client_secret" is missing/);
    expect(await fixture.versionWith('AWSCURRENT')).toBe(oldVersion);
    expectNoLeaks([outcome], ['StagedSecretValue1', creds.client_secret]);
  });

  it('staging the credentials already in use → StagedCredentialsUnchangedError', async () => {
    const creds = makeCredentials();
    const { fixture, oldVersion } = await runningBroker(creds);
    const token = await fixture.stage(creds);

    const outcome = await fixture.steps(token, ['createSecret']);

    expect(results(outcome)).toEqual(['StagedCredentialsUnchangedError']);
    expect(await fixture.versionWith('AWSCURRENT')).toBe(oldVersion);
    expectNoLeaks([outcome], [creds.client_secret]);
  });

  it('a rotation event for another secret → WrongSecretError, that secret untouched', async () => {
    const creds = makeCredentials();
    const { fixture } = await runningBroker(creds);
    const other = await brokerWith(makeCredentials());
    const token = await other.stage(makeCredentials());
    const otherStages = await other.stages();

    const outcome = await fixture.steps(token, ['createSecret', 'finishSecret'], other.secretArn);

    expect(results(outcome)).toEqual(['WrongSecretError', 'WrongSecretError']);
    expect(await other.stages()).toEqual(otherStages);
  });

  it('an event that is not a rotation event → RotationEventError', async () => {
    const fixture = await brokerWith(makeCredentials());

    const outcome = await fixture.steps('not-a-token', ['createSecret']);

    expect(results(outcome)).toEqual(['RotationEventError']);
  });
});

describe('rotate-credentials (bundled) — configuration test on a new stack', () => {
  it('testSecret with a staged copy of the deploy-time placeholder passes without calling ThroughLine', async () => {
    const placeholder = JSON.stringify({
      throughline_broker_placeholder: 'set me',
      nonce: 'PlaceholderNonce9',
    });
    const fixture = await brokerWith(placeholder);
    // What Secrets Manager does for RotateImmediately=false: stage a copy of the current value, run testSecret.
    const token = await fixture.stage(placeholder);

    const outcome = await fixture.steps(token, ['testSecret']);

    expect(results(outcome)).toEqual(['ok']);
    expect(server.requests).toHaveLength(0);
    expectNoLeaks([outcome], ['PlaceholderNonce9']);
  });

  it('testSecret with an unusable staged value passes only as a configuration test, never after createSecret', async () => {
    const fixture = await brokerWith(makeCredentials());
    const token = await fixture.stage('{}');

    // testSecret alone (Secrets Manager's configuration test): nothing usable to mint with, passes.
    const configurationTest = await fixture.steps(token, ['testSecret']);
    // The same version once createSecret of this rotation is recorded as done: an error, never waved through.
    await fixture.broker.secrets.send(
      new TagResourceCommand({
        SecretId: fixture.secretArn,
        Tags: [{ Key: ROTATION_PROGRESS_TAG, Value: `token=${token} step=createSecret status=done at=x` }],
      }),
    );
    const inRotation = await fixture.steps(token, ['testSecret']);

    expect(results(configurationTest)).toEqual(['ok']);
    expect(results(inRotation)).toEqual(['StagedCredentialsInvalidError']);
    expect(server.requests).toHaveLength(0);
  });

  it('createSecret rejects the placeholder as a rotation target', async () => {
    const fixture = await brokerWith(makeCredentials());
    const token = await fixture.stage(JSON.stringify({ throughline_broker_placeholder: 'x', nonce: 'n' }));

    const outcome = await fixture.steps(token, ['createSecret']);

    expect(results(outcome)).toEqual(['StagedCredentialsInvalidError']);
  });
});

describe('operator actions after a rotation (CLI operations against moto and mint-token)', () => {
  function admins(fixture: RotationFixture) {
    const secrets = new SecretsManagerClient(awsClientConfig());
    const lambda = new LambdaClient({ ...awsClientConfig(), endpoint: lambdaServer.url });
    return {
      credentials: new CredentialAdmin(secrets, fixture.secretArn),
      tokens: new TokenAdmin(new MintTokenInvoker(lambda, fixture.mintTokenFunctionName), 'test-operator'),
    };
  }

  it('rollback restores the previous credentials and refreshes the cache with them', async () => {
    const oldCreds = makeCredentials();
    const { fixture, oldVersion } = await runningBroker(oldCreds);
    const newCreds = makeCredentials();
    const token = await fixture.stage(newCreds);
    expect(results(await fixture.steps(token, ALL_STEPS))).toEqual(['ok', 'ok', 'ok', 'ok']);
    const { credentials, tokens } = admins(fixture);

    const rolledBack = await credentials.rollback();
    const refreshed = await tokens.refresh(false);

    expect(rolledBack).toEqual({ restored: oldVersion, replaced: token });
    expect(await fixture.stages()).toEqual({ [oldVersion]: ['AWSCURRENT'], [token]: ['AWSPREVIOUS'] });
    expect(refreshed).toMatchObject({
      outcome: 'minted',
      why: 'credential_version_changed',
      credentialVersionId: oldVersion,
    });
    expect(server.requests.at(-1)?.form.client_id).toBe(oldCreds.client_id);
    expect(await fixture.broker.rawCachedItem()).toMatchObject({ credentialVersionId: { S: oldVersion } });
  });

  it('rollback without a previous version is refused with a clear error', async () => {
    const fixture = await brokerWith(makeCredentials());

    await expect(admins(fixture).credentials.rollback()).rejects.toThrow(
      /no AWSPREVIOUS version .* to roll back to/,
    );
  });

  it('flush empties the cache; describe then reports no token', async () => {
    const { fixture } = await runningBroker(makeCredentials());
    const { tokens } = admins(fixture);

    expect(await tokens.flush()).toBe(true);
    expect(await fixture.broker.rawCachedItem()).toBeUndefined();
    expect(await tokens.describe()).toBeNull();
    expect(await tokens.flush()).toBe(false);
  });
});
