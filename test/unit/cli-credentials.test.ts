import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { awsClientConfig, makeCredentials, type TestCredentials } from '../support/broker-fixture';
import { deployBrokerOutputs, runCli, useMotoCredentials } from '../support/cli-harness';
import { LambdaInvokeServer } from '../support/lambda-invoke-server-rotation';
import { expectNoSecretIn } from '../support/leaks';
import { bundled, RotationFixture } from '../support/rotation-fixture';
import { SecretsManagerRotationProxy } from '../support/secrets-manager-rotation-proxy';
import { FakeTokenServer } from '../support/token-server';

/**
 * `broker credentials …` run in-process against moto_server (CloudFormation outputs, Secrets Manager
 * staging labels, DynamoDB, KMS), the local HTTPS token endpoint, the bundled mint-token behind a
 * local Lambda Invoke stand-in, and a Secrets Manager stand-in that runs the bundled rotation
 * function for RotateSecret as Secrets Manager would.
 */
let server: FakeTokenServer;
let lambdaServer: LambdaInvokeServer;
let proxy: SecretsManagerRotationProxy;

beforeAll(async () => {
  useMotoCredentials();
  server = await FakeTokenServer.start(inject('trustedTls'));
  lambdaServer = await LambdaInvokeServer.start();
  proxy = await SecretsManagerRotationProxy.start(
    inject('motoEndpoint'),
    new SecretsManagerClient(awsClientConfig()),
  );
});
afterAll(async () => {
  await proxy.stop();
  await server.stop();
  await lambdaServer.stop();
});
beforeEach(() => {
  server.reset();
  lambdaServer.reset();
});

const PLACEHOLDER = JSON.stringify({ throughline_broker_placeholder: 'set me', nonce: 'DeployNonce123' });

/** A deployed broker: resources in moto, outputs in a moto stack, rotation attached via the proxy. */
async function deployed(initial: TestCredentials | string = PLACEHOLDER) {
  const fixture = await RotationFixture.create(initial, lambdaServer, server.url);
  const { stage } = await deployBrokerOutputs({
    secretArn: fixture.secretArn,
    mintTokenFunctionName: fixture.mintTokenFunctionName,
  });
  proxy.attachRotation(fixture.secretArn, {
    bundle: bundled('RotateCredentials').bundle,
    env: () => fixture.rotateEnv(),
  });
  const env = {
    AWS_REGION: 'us-east-1',
    AWS_ENDPOINT_URL: inject('motoEndpoint'),
    AWS_ENDPOINT_URL_LAMBDA: lambdaServer.url,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: proxy.url,
  };
  const cli = (args: string[], stdin?: string) =>
    runCli(['--stage', stage, 'credentials', ...args], { env, ...(stdin !== undefined ? { stdin } : {}) });
  return { fixture, stage, cli, env };
}

const asLines = (c: TestCredentials) => `${c.client_id}\n${c.client_secret}\n`;
const asJson = (c: TestCredentials) => JSON.stringify(c);

async function currentValue(fixture: RotationFixture): Promise<string | undefined> {
  const result = await new SecretsManagerClient(awsClientConfig()).send(
    new GetSecretValueCommand({ SecretId: fixture.secretArn }),
  );
  return result.SecretString;
}

describe('credentials — argument handling (no AWS needed)', () => {
  it('--help lists the four commands and the breach option', async () => {
    const group = await runCli(['credentials', '--help']);
    const rotate = await runCli(['credentials', 'rotate', '--help']);

    for (const cmd of ['set', 'rotate', 'rollback', 'status'])
      expect(group.text).toMatch(new RegExp(`^\\s+${cmd}\\b`, 'm'));
    expect(rotate.text).toMatch(/--compromised/);
    expect(rotate.text).toMatch(/--timeout <seconds>/);
  });

  it.each([
    ['a positional secret', ['set', 'S3cr3t-on-argv-1']],
    ['--client-secret=value', ['rotate', '--client-secret=S3cr3t-on-argv-1']],
    ['--client-secret value', ['rotate', '--client-secret', 'S3cr3t-on-argv-1']],
    ['-s value', ['set', '-s', 'S3cr3t-on-argv-1']],
    ['an id and a secret', ['rotate', 'client-abc', 'S3cr3t-on-argv-1', '--compromised']],
  ])('refuses %s on the command line without echoing it, before any AWS call', async (_label, args) => {
    const run = await runCli(['--stage', 'nonexistent', 'credentials', ...args], { stdin: '' });

    expect(run.error?.name).toBe('CredentialsOnCommandLineError');
    expect(run.error?.message).toMatch(/standard input/);
    expect(run.error?.message).toMatch(/not shown/);
    expectNoSecretIn([run.text], ['S3cr3t-on-argv-1']);
  });

  it.each([
    ['nothing', '', /Nothing was read from standard input/],
    ['one line', 'only-one-line\n', /Expected two non-empty lines .* read 1/],
    ['three lines', 'a\nb\nc\n', /read 3/],
    [
      'JSON without client_secret',
      '{"client_id":"abc","secret":"S3cr3t-in-json-1"}',
      /unexpected field\(s\) "secret", "client_secret" is missing/,
    ],
    ['broken JSON', '{"client_id":"abc","client_secret":"S3cr3t-in-json-1"', /not valid JSON/],
    ['the same value twice', 'S3cr3t-in-json-1\nS3cr3t-in-json-1\n', /same: was one pasted twice/],
  ])('rejects %s on stdin with a clear error that repeats no value', async (_label, stdin, message) => {
    const run = await runCli(['--stage', 'nonexistent', 'credentials', 'set'], { stdin });

    expect(run.error?.name).toBe('CredentialsInputError');
    expect(run.error?.message).toMatch(message);
    expectNoSecretIn([run.text], ['S3cr3t-in-json-1']);
  });

  it('a stack that does not exist → a clear error naming the stack and the options', async () => {
    const run = await runCli(['--stage', 'nosuchstage', 'credentials', 'status'], {
      env: { AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL: inject('motoEndpoint') },
    });

    expect(run.error?.name).toBe('StackNotFoundError');
    expect(run.error?.message).toMatch(/ThroughLineTokenBroker-nosuchstage.*--stage\/--stack-name/);
  });
});

describe('credentials set', () => {
  it('replaces the deploy-time placeholder from two stdin lines and mints a token with them', async () => {
    const { fixture, cli } = await deployed();
    const creds = makeCredentials();

    const run = await cli(['set'], asLines(creds));

    expect(run.error).toBeUndefined();
    expect(run.text).toMatch(/Stored the credentials as version \S+ \(AWSCURRENT\)/);
    expect(run.text).toMatch(/ThroughLine issued a token with them/);
    expect(JSON.parse((await currentValue(fixture)) ?? '{}')).toEqual(creds);
    expect(server.requests.map((r) => r.form.client_id)).toEqual([creds.client_id]);
    expectNoSecretIn([run.text], [creds.client_secret, ...server.issuedTokens]);
  });

  it('refuses a second set (rotate tests new credentials first) unless --replace', async () => {
    const first = makeCredentials();
    const { fixture, cli } = await deployed(first);
    await fixture.broker.putCredentials(makeCredentials());
    const next = makeCredentials();

    const refused = await cli(['set'], asJson(next));
    const replaced = await cli(['set', '--replace'], asJson(next));

    expect(refused.error?.name).toBe('CredentialAdminError');
    expect(refused.error?.message).toMatch(/Use `credentials rotate`/);
    expect(replaced.error).toBeUndefined();
    expect(JSON.parse((await currentValue(fixture)) ?? '{}')).toEqual(next);
    expectNoSecretIn([refused.text, replaced.text], [next.client_secret]);
  });

  it('credentials ThroughLine rejects are stored, and the error says so and what to do', async () => {
    const { cli } = await deployed();
    const creds = makeCredentials();
    server.fallback = { kind: 'json', status: 401, body: { error: 'invalid_client' } };

    const run = await cli(['set'], asJson(creds));

    expect(run.error?.message).toMatch(/stored, but minting a token with them failed .*InvalidClientError/);
    expect(run.error?.message).toMatch(/credentials set --replace/);
    expectNoSecretIn([run.text], [creds.client_secret]);
  });
});

describe('credentials rotate', () => {
  it('stages, rotates with visible progress, and reports the outcome; the cache holds the new version', async () => {
    const oldCreds = makeCredentials();
    const { fixture, cli } = await deployed(oldCreds);
    const oldVersion = (await fixture.versionWith('AWSCURRENT')) as string;
    const next = makeCredentials();

    const run = await cli(['rotate', '--poll-interval-ms', '100'], asLines(next));

    expect(run.error).toBeUndefined();
    const token = /Staged the new credentials as version (\S+) \(AWSPENDING\)/.exec(run.text)?.[1] as string;
    expect(token).toBeDefined();
    expect(run.out.filter((l) => l.startsWith('  ✓ ')).map((l) => l.split(':')[0])).toEqual([
      '  ✓ createSecret',
      '  ✓ setSecret',
      '  ✓ testSecret',
      '  ✓ finishSecret',
    ]);
    expect(run.text).toMatch(
      new RegExp(`Rotation complete: version ${token} is AWSCURRENT, version ${oldVersion} is AWSPREVIOUS`),
    );
    expect(await fixture.stages()).toEqual({ [oldVersion]: ['AWSPREVIOUS'], [token]: ['AWSCURRENT'] });
    expect(await fixture.broker.rawCachedItem()).toMatchObject({ credentialVersionId: { S: token } });
    const rotationLogs = proxy.rotations
      .filter((r) => r.token === token)
      .flatMap((r) => r.steps.flatMap((s) => s.logLines));
    expectNoSecretIn(
      [run.text, ...rotationLogs, ...lambdaServer.allText()],
      [oldCreds.client_secret, next.client_secret, ...server.issuedTokens],
    );
  });

  it('new credentials rejected → the command fails saying why, and AWSCURRENT is unchanged', async () => {
    const oldCreds = makeCredentials();
    const { fixture, cli } = await deployed(oldCreds);
    const oldVersion = await fixture.versionWith('AWSCURRENT');
    const next = makeCredentials();
    server.fallback = { kind: 'json', status: 401, body: { error: 'invalid_client' } };

    const run = await cli(['rotate', '--poll-interval-ms', '100'], asJson(next));

    expect(run.error?.message).toMatch(
      /failed at testSecret: ThroughLine rejected the new credentials \(invalid_client\)/,
    );
    expect(run.error?.message).toMatch(/AWSCURRENT is unchanged/);
    expect(await fixture.versionWith('AWSCURRENT')).toBe(oldVersion);
    expectNoSecretIn([run.text], [oldCreds.client_secret, next.client_secret]);
  });

  it('a leftover AWSPENDING from a failed rotation is released, and the next rotation succeeds', async () => {
    const { fixture, cli } = await deployed(makeCredentials());
    const leftover = await fixture.stage(makeCredentials());
    const next = makeCredentials();

    const run = await cli(['rotate', '--poll-interval-ms', '100'], asJson(next));

    expect(run.error).toBeUndefined();
    expect(run.text).toMatch(new RegExp(`Released AWSPENDING from version ${leftover}`));
    expect((await fixture.stages())[leftover]).toEqual([]);
  });

  it('--compromised rotates, flushes the old token, caches one of the new credentials and points to the runbook', async () => {
    const oldCreds = makeCredentials();
    const { fixture, cli } = await deployed(oldCreds);
    await fixture.mint();
    const next = makeCredentials();

    const run = await cli(['rotate', '--compromised', '--poll-interval-ms', '100'], asLines(next));

    expect(run.error).toBeUndefined();
    const token = await fixture.versionWith('AWSCURRENT');
    expect(run.text).toMatch(/Flushed the cached token/);
    expect(run.text).toMatch(new RegExp(`Cached a new token minted with version ${token}`));
    expect(run.text).toMatch(/credentials-compromised\.md.*destroy the compromised application/);
    const actions = lambdaServer.invocations.map((i) => i.payload as { action: string; force?: boolean });
    expect(actions.slice(-2)).toEqual([
      expect.objectContaining({ action: 'flush' }),
      expect.objectContaining({ action: 'refresh', force: true }),
    ]);
    expect(await fixture.broker.rawCachedItem()).toMatchObject({ credentialVersionId: { S: token } });
    // priming mint (old), test mint (new), rotation refresh (new), forced re-mint after the flush (new).
    expect(server.requests.map((r) => r.form.client_id)).toEqual([
      oldCreds.client_id,
      next.client_id,
      next.client_id,
      next.client_id,
    ]);
    expectNoSecretIn([run.text], [oldCreds.client_secret, next.client_secret, ...server.issuedTokens]);
  });
});

describe('credentials rollback and status', () => {
  it('rollback restores the previous credentials and refreshes the cache', async () => {
    const oldCreds = makeCredentials();
    const { fixture, cli } = await deployed(oldCreds);
    const oldVersion = (await fixture.versionWith('AWSCURRENT')) as string;
    expect(
      (await cli(['rotate', '--poll-interval-ms', '100'], asJson(makeCredentials()))).error,
    ).toBeUndefined();
    const newVersion = (await fixture.versionWith('AWSCURRENT')) as string;

    const run = await cli(['rollback']);

    expect(run.error).toBeUndefined();
    expect(run.text).toMatch(
      new RegExp(
        `Rolled back: version ${oldVersion} is AWSCURRENT again; version ${newVersion} is now AWSPREVIOUS`,
      ),
    );
    expect(run.text).toMatch(new RegExp(`Token cache refreshed: token of credentials version ${oldVersion}`));
    expect(await fixture.broker.rawCachedItem()).toMatchObject({ credentialVersionId: { S: oldVersion } });
    expect(server.requests.at(-1)?.form.client_id).toBe(oldCreds.client_id);
  });

  it('status shows versions, stages, age, the last rotation and the last mint — and no secret', async () => {
    const oldCreds = makeCredentials();
    const { fixture, cli } = await deployed(oldCreds);
    const next = makeCredentials();
    expect((await cli(['rotate', '--poll-interval-ms', '100'], asJson(next))).error).toBeUndefined();
    const current = (await fixture.versionWith('AWSCURRENT')) as string;

    const run = await cli(['status']);

    expect(run.error).toBeUndefined();
    expect(run.text).toMatch(new RegExp(`${current}\\s+AWSCURRENT\\s+created \\S+ \\(0 d old\\)`));
    expect(run.text).toMatch(/AWSPREVIOUS/);
    expect(run.text).toMatch(new RegExp(`Last rotation: version ${current}, finishSecret done`));
    expect(run.text).toMatch(
      new RegExp(`Cached token: minted .* credentials version ${current} \\(current\\)`),
    );
    expectNoSecretIn([run.text], [oldCreds.client_secret, next.client_secret, ...server.issuedTokens]);
  });
});
