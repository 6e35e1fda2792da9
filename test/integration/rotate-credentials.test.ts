import { randomUUID } from 'node:crypto';
import { LambdaClient } from '@aws-sdk/client-lambda';
import {
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
  TagResourceCommand,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { CredentialAdmin } from '../../cli/operations/credential-admin';
import { TokenAdmin } from '../../cli/operations/token-admin';
import { STAGED_LABEL } from '../../contract/credentials-secret';
import { MetricName } from '../../contract/metric-names';
import { parseProgress, ROTATION_PROGRESS_TAG } from '../../contract/rotation-progress';
import { MintTokenInvoker } from '../../lambda/aws/mint-token-invoker';
import { LambdaInvokeEmulator } from '../kit/emulators/lambda-invoke';
import { DocStrictSecretsManager } from '../kit/emulators/secrets-manager-doc-strict';
import { FakeTokenServer } from '../kit/fakes/token-server';
import type { InvokeOutcome } from '../kit/runners/invoke-bundled';
import { awsClientConfig, makeCredentials, type TestCredentials } from '../kit/vitest/broker-fixture';
import { expectNoSecretIn } from '../kit/vitest/leaks';
import { RotationFixture, type RotationStepName } from '../kit/vitest/rotation-fixture';

/**
 * The bundled rotate-credentials function, driven step by step as Secrets Manager drives it (the test
 * plays the invoker), against the doc-strict Secrets Manager stand-in in front of moto_server (staging
 * labels, the rotation's empty AWSPENDING version), DynamoDB and KMS in moto, the local HTTPS token
 * endpoint, and the bundled mint-token behind a local Lambda Invoke stand-in.
 */
const ALL_STEPS: readonly RotationStepName[] = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'];

let server: FakeTokenServer;
let lambdaServer: LambdaInvokeEmulator;
let standIn: DocStrictSecretsManager;

beforeAll(async () => {
  server = await FakeTokenServer.start(inject('trustedTls'));
  lambdaServer = await LambdaInvokeEmulator.start();
  standIn = await DocStrictSecretsManager.start(
    inject('motoEndpoint'),
    new SecretsManagerClient(awsClientConfig()),
  );
});
afterAll(async () => {
  await standIn.stop();
  await server.stop();
  await lambdaServer.stop();
});
beforeEach(() => {
  server.reset();
  lambdaServer.reset();
});

async function brokerWith(creds: TestCredentials | string | undefined): Promise<RotationFixture> {
  return RotationFixture.create(creds, lambdaServer, server.url, standIn);
}

/** What `credentials rotate` and Secrets Manager do before the first step: stage, then RotateSecret's empty version. */
async function stagedRotation(fixture: RotationFixture, value: TestCredentials | string) {
  const stagedVersion = await fixture.stage(value);
  const token = await fixture.openRotation();
  return { stagedVersion, token };
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
    const { stagedVersion, token } = await stagedRotation(fixture, newCreds);
    // Before createSecret the rotation's version exists with AWSPENDING and no value.
    await expect(
      fixture.secrets.send(new GetSecretValueCommand({ SecretId: fixture.secretArn, VersionId: token })),
    ).rejects.toMatchObject({ name: 'ResourceNotFoundException' });

    const untilTest = await fixture.steps(token, ['createSecret', 'setSecret', 'testSecret']);

    expect(results(untilTest)).toEqual(['ok', 'ok', 'ok']);
    // createSecret wrote the staged pair into the rotation's version, with the event's RotationToken.
    const rotation = standIn.rotations.find((r) => r.token === token);
    expect(rotation?.writtenWithRotationToken).toBe(rotation?.rotationToken);
    expect(await fixture.stages()).toEqual({
      [oldVersion]: ['AWSCURRENT'],
      [stagedVersion]: [STAGED_LABEL],
      [token]: ['AWSPENDING'],
    });
    // testSecret minted with the staged credentials, and only that: the cache still serves the old token.
    expect(server.requests.map((r) => r.form.client_id)).toEqual([oldCreds.client_id, newCreds.client_id]);
    expect(server.requests[1]?.form.client_secret).toBe(newCreds.client_secret);
    expect(await fixture.broker.rawCachedItem()).toMatchObject({ credentialVersionId: { S: oldVersion } });
    expect(await fixture.versionWith('AWSCURRENT')).toBe(oldVersion);

    const finish = await fixture.steps(token, ['finishSecret']);

    expect(results(finish)).toEqual(['ok']);
    // AWSPENDING and the staged label are gone; the staged version has no label left (deprecated).
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
    const { token } = await stagedRotation(fixture, newCreds);

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

describe('rotate-credentials (bundled) — whole-rotation retries', () => {
  it('a rotation interrupted after createSecret and run again from the start ends as an uninterrupted one', async () => {
    const oldCreds = makeCredentials();
    const { fixture, oldVersion } = await runningBroker(oldCreds);
    const newCreds = makeCredentials();
    const { token } = await stagedRotation(fixture, newCreds);

    // Attempt 1: createSecret, then setSecret never ran (e.g. the invocation timed out).
    const first = await fixture.steps(token, ['createSecret']);
    // Secrets Manager retries the entire rotation with the same token.
    const retry = await fixture.steps(token, ALL_STEPS);

    expect(results(first)).toEqual(['ok']);
    expect(results(retry)).toEqual(['ok', 'ok', 'ok', 'ok']);
    expect(await fixture.stages()).toEqual({ [oldVersion]: ['AWSPREVIOUS'], [token]: ['AWSCURRENT'] });
    expect(await fixture.broker.rawCachedItem()).toMatchObject({ credentialVersionId: { S: token } });
    const current = await fixture.secrets.send(
      new GetSecretValueCommand({ SecretId: fixture.secretArn, VersionStage: 'AWSCURRENT' }),
    );
    expect(JSON.parse(current.SecretString ?? '{}')).toEqual(newCreds);
    expectNoLeaks([first, retry], [oldCreds.client_secret, newCreds.client_secret]);
  });

  it('a new version written during the rotation abandons it: later steps refuse and nothing is promoted', async () => {
    const oldCreds = makeCredentials();
    const { fixture, oldVersion } = await runningBroker(oldCreds);
    const { token } = await stagedRotation(fixture, makeCredentials());
    const created = await fixture.steps(token, ['createSecret']);

    // e.g. a concurrent `credentials set --replace` of other credentials, through Secrets Manager.
    await fixture.secrets.send(
      new PutSecretValueCommand({
        SecretId: fixture.secretArn,
        SecretString: JSON.stringify(makeCredentials()),
        VersionStages: ['SOMETHING_ELSE'],
      }),
    );
    const rest = await fixture.steps(token, ['setSecret', 'testSecret', 'finishSecret']);

    expect(results(created)).toEqual(['ok']);
    expect(standIn.events).toContainEqual({ eventName: 'RotationAbandoned', token });
    expect(results(rest)).toEqual([
      'RotationAbandonedError',
      'RotationAbandonedError',
      'RotationAbandonedError',
    ]);
    expect(await fixture.versionWith('AWSCURRENT')).toBe(oldVersion);
    expect(await fixture.versionWith('AWSPENDING')).toBeUndefined();
    expect(await progressOf(fixture)).toMatchObject({ token, status: 'failed', retryable: false });
  });
});

describe('rotate-credentials (bundled) — failures leave AWSCURRENT untouched', () => {
  it('new credentials rejected by the token endpoint → testSecret fails, AWSCURRENT and the cache unchanged', async () => {
    const oldCreds = makeCredentials();
    const { fixture, oldVersion } = await runningBroker(oldCreds);
    const cachedBefore = await fixture.broker.rawCachedItem();
    const newCreds = makeCredentials();
    const { token } = await stagedRotation(fixture, newCreds);
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
      retryable: false,
    });
    expect(metricNames(outcome)).toContain(MetricName.RotationStepFailed);
    expectNoLeaks([outcome], [oldCreds.client_secret, newCreds.client_secret]);
  });

  it('a rotation started with nothing staged → createSecret fails with a clear error; nothing is written', async () => {
    const creds = makeCredentials();
    const { fixture, oldVersion } = await runningBroker(creds);
    const token = await fixture.openRotation();

    const outcome = await fixture.steps(token, ['createSecret', 'createSecret']);

    expect(results(outcome)).toEqual(['RotationNotStagedError', 'RotationNotStagedError']);
    const failure = outcome.results[0];
    expect(!failure?.ok && failure?.error.message).toMatch(/no credentials are staged/);
    expect(!failure?.ok && failure?.error.message).toMatch(/npm run broker -- credentials rotate/);
    expect(await fixture.stages()).toEqual({ [oldVersion]: ['AWSCURRENT'], [token]: ['AWSPENDING'] });
    expect(server.requests).toHaveLength(1);
  });

  it('finishSecret for a version Secrets Manager never created refuses to move AWSCURRENT', async () => {
    const creds = makeCredentials();
    const { fixture, oldVersion } = await runningBroker(creds);
    await fixture.stage(makeCredentials());

    const outcome = await fixture.steps(randomUUID(), ['createSecret', 'finishSecret']);

    expect(results(outcome)).toEqual(['RotationAbandonedError', 'RotationAbandonedError']);
    expect(await fixture.versionWith('AWSCURRENT')).toBe(oldVersion);
  });

  it('malformed staged credentials → StagedCredentialsInvalidError naming the problem, not the value', async () => {
    const creds = makeCredentials();
    const { fixture, oldVersion } = await runningBroker(creds);
    const { token } = await stagedRotation(
      fixture,
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
    const { token } = await stagedRotation(fixture, creds);

    const outcome = await fixture.steps(token, ['createSecret']);

    expect(results(outcome)).toEqual(['StagedCredentialsUnchangedError']);
    expect(await fixture.versionWith('AWSCURRENT')).toBe(oldVersion);
    expectNoLeaks([outcome], [creds.client_secret]);
  });

  it('a rotation event for another secret → WrongSecretError, that secret untouched', async () => {
    const creds = makeCredentials();
    const { fixture } = await runningBroker(creds);
    const other = await brokerWith(makeCredentials());
    const { token } = await stagedRotation(other, makeCredentials());
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
  it('testSecret on the empty AWSPENDING version of an empty secret (a fresh stack) passes without calling ThroughLine', async () => {
    const fixture = await brokerWith(undefined);
    // RotateImmediately=false: Secrets Manager runs testSecret alone on a temporary AWSPENDING version.
    const token = await fixture.openRotation({ testOnly: true });

    const outcome = await fixture.steps(token, ['testSecret']);

    expect(results(outcome)).toEqual(['ok']);
    expect(server.requests).toHaveLength(0);
  });

  it('testSecret for a version the secret does not list passes as a configuration test too', async () => {
    const fixture = await brokerWith(undefined);

    const outcome = await fixture.steps(randomUUID(), ['testSecret']);

    expect(results(outcome)).toEqual(['ok']);
    expect(server.requests).toHaveLength(0);
  });

  it("testSecret with a copy of an older stack's deploy-time placeholder passes without calling ThroughLine", async () => {
    const placeholder = JSON.stringify({
      throughline_broker_placeholder: 'set me',
      nonce: 'PlaceholderNonce9',
    });
    const fixture = await brokerWith(placeholder);
    const token = await fixture.openRotation({ testOnly: true });
    await fixture.secrets.send(
      new PutSecretValueCommand({
        SecretId: fixture.secretArn,
        ClientRequestToken: token,
        SecretString: placeholder,
        VersionStages: ['AWSPENDING'],
      }),
    );

    const outcome = await fixture.steps(token, ['testSecret']);

    expect(results(outcome)).toEqual(['ok']);
    expect(server.requests).toHaveLength(0);
    expectNoLeaks([outcome], ['PlaceholderNonce9']);
  });

  it('testSecret with an unusable value passes only as a configuration test, never after createSecret', async () => {
    const fixture = await brokerWith(makeCredentials());
    const token = await fixture.openRotation({ testOnly: true });
    await fixture.secrets.send(
      new PutSecretValueCommand({
        SecretId: fixture.secretArn,
        ClientRequestToken: token,
        SecretString: '{}',
        VersionStages: ['AWSPENDING'],
      }),
    );

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
    const { token } = await stagedRotation(
      fixture,
      JSON.stringify({ throughline_broker_placeholder: 'x', nonce: 'n' }),
    );

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
    const { token } = await stagedRotation(fixture, newCreds);
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
