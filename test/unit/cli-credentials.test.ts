import {
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
  TagResourceCommand,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { STAGED_LABEL } from '../../contract/credentials-secret';
import { ROTATION_PROGRESS_TAG } from '../../contract/rotation-progress';
import { LambdaInvokeEmulator } from '../kit/emulators/lambda-invoke';
import { DocStrictSecretsManager } from '../kit/emulators/secrets-manager-doc-strict';
import { ThroughLineApplications } from '../kit/fakes/throughline-applications';
import { type CliRun, deployBrokerOutputs, runCli, useMotoCredentials } from '../kit/runners/cli-harness';
import { awsClientConfig, makeCredentials, type TestCredentials } from '../kit/vitest/broker-fixture';
import { expectNoSecretIn } from '../kit/vitest/leaks';
import { bundled, RotationFixture } from '../kit/vitest/rotation-fixture';

/**
 * `broker credentials …` run in-process against moto_server (CloudFormation outputs, DynamoDB, KMS),
 * Secrets Manager through the doc-strict stand-in (test/kit/emulators/secrets-manager-doc-strict.ts: AWS's
 * documented refusals, the rotation's empty AWSPENDING version, whole-rotation retries, abandonment),
 * which runs the bundled rotation function for RotateSecret; the bundled mint-token behind a local
 * Lambda Invoke stand-in; bundled serve-token instances; and a local ThroughLine that knows which
 * applications exist and which pair each token was issued to. Every output is scanned for leaks.
 */
let throughline: ThroughLineApplications;
let lambdaServer: LambdaInvokeEmulator;
let standIn: DocStrictSecretsManager;

beforeAll(async () => {
  useMotoCredentials();
  throughline = await ThroughLineApplications.start(inject('trustedTls'));
  lambdaServer = await LambdaInvokeEmulator.start();
  standIn = await DocStrictSecretsManager.start(
    inject('motoEndpoint'),
    new SecretsManagerClient(awsClientConfig()),
    { retries: 2, retryDelayMs: 50 },
  );
});
afterAll(async () => {
  await standIn.stop();
  await throughline.stop();
  await lambdaServer.stop();
});
beforeEach(() => {
  lambdaServer.reset();
});

/** A deployed broker: resources in moto, outputs in a moto stack, rotation attached in the stand-in. */
async function deployed(initial: TestCredentials | string | undefined) {
  const fixture = await RotationFixture.create(initial, lambdaServer, throughline.url, standIn);
  const { stage } = await deployBrokerOutputs(awsClientConfig(), {
    secretArn: fixture.secretArn,
    mintTokenFunctionName: fixture.mintTokenFunctionName,
  });
  standIn.attachRotation(fixture.secretArn, {
    bundle: bundled('RotateCredentials').bundle,
    env: () => fixture.rotateEnv(),
  });
  const env = {
    AWS_REGION: 'us-east-1',
    AWS_ENDPOINT_URL: inject('motoEndpoint'),
    AWS_ENDPOINT_URL_LAMBDA: lambdaServer.url,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: standIn.url,
  };
  const runs: CliRun[] = [];
  const cli = async (args: string[], stdin?: string) => {
    const run = await runCli(
      [
        '--stage',
        stage,
        'credentials',
        ...args,
        ...(args[0] === 'rotate' ? ['--poll-interval-ms', '100'] : []),
      ],
      {
        env,
        ...(stdin !== undefined ? { stdin } : {}),
      },
    );
    runs.push(run);
    return run;
  };
  /** Everything any part of this broker printed or logged: CLI output, rotation, mint-token, serve-token. */
  const everything = (extra: string[] = []) => [
    ...runs.map((r) => r.text),
    ...standIn.allText(),
    ...lambdaServer.allText(),
    ...extra,
  ];
  return { fixture, stage, cli, env, everything };
}

/** A running broker on an active ThroughLine application, with a token of it cached. */
async function running() {
  const old = throughline.create(makeCredentials());
  const world = await deployed(old);
  const primed = (await world.fixture.mint()) as { credentialVersionId: string };
  return { ...world, old, oldVersion: primed.credentialVersionId };
}

const asLines = (c: TestCredentials) => `${c.client_id}\n${c.client_secret}\n`;
const asJson = (c: TestCredentials) => JSON.stringify(c);

async function currentValue(fixture: RotationFixture): Promise<unknown> {
  const result = await fixture.secrets.send(
    new GetSecretValueCommand({ SecretId: fixture.secretArn, VersionStage: 'AWSCURRENT' }),
  );
  return JSON.parse(result.SecretString ?? 'null');
}

/** No AWSPENDING on a version other than AWSCURRENT: Secrets Manager would refuse the next rotation. */
async function pendingOnNonCurrent(fixture: RotationFixture): Promise<string[]> {
  return Object.entries(await fixture.stages())
    .filter(([, s]) => s.includes('AWSPENDING') && !s.includes('AWSCURRENT'))
    .map(([id]) => id);
}

const rotationVersion = (run: CliRun) =>
  /Secrets Manager created version (\S+) \(AWSPENDING/.exec(run.text)?.[1] as string;

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
  it('puts the first credentials into the empty secret of a fresh stack and mints a token with them', async () => {
    const { fixture, cli, everything } = await deployed(undefined);
    const creds = throughline.create(makeCredentials());

    const run = await cli(['set'], asLines(creds));

    expect(run.error).toBeUndefined();
    expect(run.text).toMatch(/Stored the credentials as version \S+ \(AWSCURRENT\)/);
    expect(run.text).toMatch(/ThroughLine issued a token with them/);
    expect(await currentValue(fixture)).toEqual(creds);
    expectNoSecretIn(everything(), [creds.client_secret, ...throughline.issuedTokens]);
  });

  it("replaces an older stack's deploy-time placeholder", async () => {
    const placeholder = JSON.stringify({ throughline_broker_placeholder: 'set me', nonce: 'DeployNonce123' });
    const { fixture, cli } = await deployed(placeholder);
    const creds = throughline.create(makeCredentials());

    const run = await cli(['set'], asJson(creds));

    expect(run.error).toBeUndefined();
    expect(await currentValue(fixture)).toEqual(creds);
  });

  it('refuses a second set (rotate tests new credentials first) unless --replace', async () => {
    const { fixture, cli, everything } = await deployed(undefined);
    const first = throughline.create(makeCredentials());
    expect((await cli(['set'], asJson(first))).error).toBeUndefined();
    const next = throughline.create(makeCredentials());

    const refused = await cli(['set'], asJson(next));
    const replaced = await cli(['set', '--replace'], asJson(next));

    expect(refused.error?.name).toBe('CredentialAdminError');
    expect(refused.error?.message).toMatch(/Use `credentials rotate`/);
    expect(replaced.error).toBeUndefined();
    expect(await currentValue(fixture)).toEqual(next);
    expectNoSecretIn(everything(), [first.client_secret, next.client_secret]);
  });

  it('credentials ThroughLine rejects are stored, and the error says so and what to do', async () => {
    const { cli, everything } = await deployed(undefined);
    const creds = makeCredentials(); // no such application at ThroughLine

    const run = await cli(['set'], asJson(creds));

    expect(run.error?.message).toMatch(/stored, but minting a token with them failed .*InvalidClientError/);
    expect(run.error?.message).toMatch(/credentials set --replace/);
    expectNoSecretIn(everything(), [creds.client_secret]);
  });
});

describe('credentials rotate', () => {
  it('exit 0: AWSCURRENT holds the new pair, nothing pending, and a fresh serve-token instance gets a token of the new pair', async () => {
    const { fixture, cli, old, oldVersion, everything } = await running();
    const next = throughline.create(makeCredentials());

    const run = await cli(['rotate'], asLines(next));

    expect(run.error).toBeUndefined();
    const staged = /Staged the new credentials as version (\S+) \(THROUGHLINE_STAGED\)/.exec(run.text)?.[1];
    const token = rotationVersion(run);
    expect(staged).toBeDefined();
    expect(token).toBeDefined();
    expect(token).not.toBe(staged);
    expect(run.out.filter((l) => l.startsWith('  ✓ ')).map((l) => l.split(':')[0])).toEqual([
      '  ✓ createSecret',
      '  ✓ setSecret',
      '  ✓ testSecret',
      '  ✓ finishSecret',
    ]);
    expect(run.text).toMatch(
      new RegExp(`Rotation complete: version ${token} is AWSCURRENT, version ${oldVersion} is AWSPREVIOUS`),
    );
    expect(run.text).toMatch(
      new RegExp(
        `Now: AWSCURRENT is version ${token}; the token cache holds a token of version ${token} \\(the current one\\)`,
      ),
    );
    expect(await currentValue(fixture)).toEqual(next);
    expect(await fixture.stages()).toEqual({ [oldVersion]: ['AWSPREVIOUS'], [token]: ['AWSCURRENT'] });
    expect(await pendingOnNonCurrent(fixture)).toEqual([]);
    const served = await fixture.serveFreshInstance();
    expect(served.status).toBe(200);
    expect(throughline.issuedTo(served.accessToken as string)).toBe(next.client_id);
    expect(standIn.events.filter((e) => e.token === token).map((e) => e.eventName)).toEqual([
      'RotationStarted',
      'RotationSucceeded',
    ]);
    expectNoSecretIn(everything(served.logLines), [
      old.client_secret,
      next.client_secret,
      ...throughline.issuedTokens,
    ]);
  });

  it('a pair ThroughLine rejects → non-zero exit, clear message, AWSCURRENT unchanged; then a good pair rotates', async () => {
    const { fixture, cli, old, oldVersion, everything } = await running();
    const wrong = makeCredentials(); // not an application at ThroughLine

    const rejected = await cli(['rotate'], asJson(wrong));

    expect(rejected.error?.message).toMatch(
      /failed at testSecret: ThroughLine rejected the new credentials \(invalid_client\)/,
    );
    expect(rejected.error?.message).toMatch(/AWSCURRENT is unchanged/);
    expect(rejected.error?.message).toMatch(new RegExp(`Now: AWSCURRENT is version ${oldVersion}`));
    expect(await fixture.versionWith('AWSCURRENT')).toBe(oldVersion);
    expect(await currentValue(fixture)).toEqual(old);
    expect(await pendingOnNonCurrent(fixture)).toEqual([]);

    await standIn.settled();
    const good = throughline.create(makeCredentials());
    const rotated = await cli(['rotate'], asJson(good));

    expect(rotated.error).toBeUndefined();
    expect(await currentValue(fixture)).toEqual(good);
    expect(await pendingOnNonCurrent(fixture)).toEqual([]);
    expectNoSecretIn(everything(), [
      old.client_secret,
      wrong.client_secret,
      good.client_secret,
      ...throughline.issuedTokens,
    ]);
  });

  it('an interrupted rotation (after createSecret) is retried by Secrets Manager and ends in the same state', async () => {
    const { fixture, cli, oldVersion } = await running();
    const next = throughline.create(makeCredentials());
    standIn.interruptNext('setSecret');

    const run = await cli(['rotate'], asJson(next));

    expect(run.error).toBeUndefined();
    const token = rotationVersion(run);
    const attempts = standIn.invocations
      .filter((i) => i.token === token)
      .map((i) => `${i.attempt}:${i.step}:${i.ok}`);
    expect(attempts).toEqual([
      '0:createSecret:true',
      '0:setSecret:false',
      '1:createSecret:true',
      '1:setSecret:true',
      '1:testSecret:true',
      '1:finishSecret:true',
    ]);
    expect(await fixture.stages()).toEqual({ [oldVersion]: ['AWSPREVIOUS'], [token]: ['AWSCURRENT'] });
    expect(await currentValue(fixture)).toEqual(next);
    expect(await fixture.broker.rawCachedItem()).toMatchObject({ credentialVersionId: { S: token } });
  });

  it('a retryable failure is reported as "Secrets Manager is retrying" and the retry succeeds', async () => {
    const { fixture, cli } = await running();
    const next = throughline.create(makeCredentials());
    // More 503s than testSecret's own attempts (upstream.maxAttempts): its first run fails retryably.
    throughline.failNext(4);

    const run = await cli(['rotate'], asJson(next));

    expect(run.error).toBeUndefined();
    expect(run.text).toMatch(
      /✗ testSecret failed \(StagedCredentialsTestFailedError\/UpstreamUnavailableError\); Secrets Manager is retrying the whole rotation/,
    );
    expect(await currentValue(fixture)).toEqual(next);
  });

  it('a new version written mid-rotation → RotationAbandoned: non-zero exit saying so, AWSCURRENT unchanged', async () => {
    const { fixture, cli, oldVersion } = await running();
    const next = throughline.create(makeCredentials());
    standIn.beforeNextStep('testSecret', async () => {
      // someone's `credentials set --replace` of other credentials, through Secrets Manager
      await fixture.secrets.send(
        new PutSecretValueCommand({
          SecretId: fixture.secretArn,
          SecretString: JSON.stringify(makeCredentials()),
        }),
      );
    });

    const run = await cli(['rotate'], asJson(next));

    expect(run.error?.message).toMatch(/was abandoned before it finished/);
    expect(run.error?.message).toMatch(/RotationAbandoned/);
    expect(run.error?.message).toMatch(/Now: AWSCURRENT is version /);
    expect(standIn.events).toContainEqual({ eventName: 'RotationAbandoned', token: rotationVersion(run) });
    expect(await fixture.versionWith('AWSCURRENT')).not.toBe(rotationVersion(run));
    expect(oldVersion).toBeDefined();
    expect(await pendingOnNonCurrent(fixture)).toEqual([]);
  });

  it('a rotation still running → refused before staging, saying what is true and what to run', async () => {
    const { fixture, cli, oldVersion } = await running();
    const running1 = await fixture.openRotation(); // Secrets Manager's version of a rotation in progress
    const next = throughline.create(makeCredentials());

    const run = await cli(['rotate'], asJson(next));

    expect(run.error?.message).toMatch(
      new RegExp(`A rotation is in progress: version ${running1} holds AWSPENDING`),
    );
    expect(run.error?.message).toMatch(
      new RegExp(`AWSCURRENT is version ${oldVersion}, unchanged; nothing was staged`),
    );
    expect(run.error?.message).toMatch(/update-secret-version-stage .*--remove-from-version-id/);
    expect(Object.values(await fixture.stages()).flat()).not.toContain(STAGED_LABEL);
  });

  it('a leftover AWSPENDING of a failed rotation is released, and the next rotation succeeds', async () => {
    const { fixture, cli } = await running();
    const leftover = await fixture.openRotation();
    await fixture.broker.secrets.send(
      new TagResourceCommand({
        SecretId: fixture.secretArn,
        Tags: [
          {
            Key: ROTATION_PROGRESS_TAG,
            Value: `token=${leftover} step=createSecret status=failed error=RotationNotStagedError retryable=false at=${new Date().toISOString()}`,
          },
        ],
      }),
    );
    const next = throughline.create(makeCredentials());

    const run = await cli(['rotate'], asJson(next));

    expect(run.error).toBeUndefined();
    expect(run.text).toMatch(new RegExp(`Released AWSPENDING from version ${leftover}`));
    expect((await fixture.stages())[leftover]).toBeUndefined();
    expect(await currentValue(fixture)).toEqual(next);
  });

  it('Secrets Manager refuses RotateSecret (a rotation started meanwhile) → "rotation in progress", not a failure', async () => {
    const { fixture, cli, oldVersion } = await running();
    standIn.beforeNextRotateSecret(async () => {
      await fixture.openRotation();
    });
    const next = throughline.create(makeCredentials());

    const run = await cli(['rotate'], asJson(next));

    expect(run.error?.message).toMatch(
      /refused to start the rotation because a rotation is already in progress/,
    );
    expect(run.error?.message).toMatch(/A previous rotation isn't complete/);
    expect(run.error?.message).toMatch(new RegExp(`Now: AWSCURRENT is version ${oldVersion}`));
    expect(run.error?.message).toMatch(/stay staged as version \S+ and are not in use/);
    expect(run.error?.message).not.toMatch(/failed at/);
  });

  it('on a secret with no credentials yet → refused, pointing to `credentials set`', async () => {
    const { cli } = await deployed(undefined);

    const run = await cli(['rotate'], asJson(makeCredentials()));

    expect(run.error?.message).toMatch(/No credentials have been put into .* use `credentials set`/);
  });
});

describe('credentials rotate --compromised', () => {
  it('old application already revoked → exit 0, the cache verified on the new pair, and no fresh serve-token instance gets an old-pair token', async () => {
    const { fixture, cli, old, everything } = await running();
    throughline.destroy(old); // the breach runbook's "destroy the compromised application" came first
    const next = throughline.create(makeCredentials());

    const run = await cli(['rotate', '--compromised'], asLines(next));

    expect(run.error).toBeUndefined();
    const token = rotationVersion(run);
    expect(run.text).toMatch(/Flushed the cached token/);
    expect(run.text).toMatch(new RegExp(`Cached a new token minted with version ${token}`));
    expect(run.text).toMatch(
      new RegExp(
        `Verified: AWSCURRENT is version ${token} and the token cache holds a token of version ${token}`,
      ),
    );
    expect(run.text).toMatch(/credentials-compromised\.md.*destroy the compromised application/);
    const actions = lambdaServer.invocations.map((i) => i.payload as { action: string; force?: boolean });
    expect(actions).toContainEqual(expect.objectContaining({ action: 'flush' }));
    expect(actions).toContainEqual(expect.objectContaining({ action: 'refresh', force: true }));
    // The rotation function itself asks mint-token only for a refresh without force.
    expect(actions).toContainEqual({ action: 'refresh', requestedBy: 'rotation' });
    expect(await fixture.broker.rawCachedItem()).toMatchObject({ credentialVersionId: { S: token } });
    const servedLogs: string[] = [];
    for (const _ of [1, 2]) {
      const served = await fixture.serveFreshInstance();
      servedLogs.push(...served.logLines);
      expect(served.status).toBe(200);
      expect(throughline.issuedTo(served.accessToken as string)).toBe(next.client_id);
    }
    expectNoSecretIn(everything(servedLogs), [
      old.client_secret,
      next.client_secret,
      ...throughline.issuedTokens,
    ]);
  });

  it('a pair ThroughLine rejects → non-zero exit before any flush, saying what is true and what to do', async () => {
    const { fixture, cli, oldVersion } = await running();

    const run = await cli(['rotate', '--compromised'], asJson(makeCredentials()));

    expect(run.error?.message).toMatch(/failed at testSecret/);
    expect(run.error?.message).toMatch(new RegExp(`Now: AWSCURRENT is version ${oldVersion}`));
    expect(lambdaServer.invocations.map((i) => (i.payload as { action: string }).action)).not.toContain(
      'flush',
    );
    expect(await fixture.versionWith('AWSCURRENT')).toBe(oldVersion);
  });
});

describe('credentials rollback and status', () => {
  it('rollback after a rotation → AWSCURRENT back on the old version, cache refreshed with it', async () => {
    const { fixture, cli, old, oldVersion, everything } = await running();
    expect((await cli(['rotate'], asJson(throughline.create(makeCredentials())))).error).toBeUndefined();
    const newVersion = (await fixture.versionWith('AWSCURRENT')) as string;

    const run = await cli(['rollback']);

    expect(run.error).toBeUndefined();
    expect(run.text).toMatch(
      new RegExp(
        `Rolled back: version ${oldVersion} is AWSCURRENT again; version ${newVersion} is now AWSPREVIOUS`,
      ),
    );
    expect(run.text).toMatch(new RegExp(`Token cache refreshed: token of credentials version ${oldVersion}`));
    expect(await currentValue(fixture)).toEqual(old);
    expect(await fixture.broker.rawCachedItem()).toMatchObject({ credentialVersionId: { S: oldVersion } });
    const served = await fixture.serveFreshInstance();
    expect(throughline.issuedTo(served.accessToken as string)).toBe(old.client_id);
    expectNoSecretIn(everything(served.logLines), [old.client_secret, ...throughline.issuedTokens]);
  });

  it('status shows versions, stages, age, the last rotation and the last mint — and no secret', async () => {
    const { fixture, cli, old, everything } = await running();
    const next = throughline.create(makeCredentials());
    expect((await cli(['rotate'], asJson(next))).error).toBeUndefined();
    const current = (await fixture.versionWith('AWSCURRENT')) as string;

    const run = await cli(['status']);

    expect(run.error).toBeUndefined();
    expect(run.text).toMatch(new RegExp(`${current}\\s+AWSCURRENT\\s+created \\S+ \\(0 d old\\)`));
    expect(run.text).toMatch(/AWSPREVIOUS/);
    expect(run.text).toMatch(new RegExp(`Last rotation: version ${current}, finishSecret done`));
    expect(run.text).toMatch(
      new RegExp(`Cached token: minted .* credentials version ${current} \\(current\\)`),
    );
    expectNoSecretIn(everything(), [old.client_secret, next.client_secret, ...throughline.issuedTokens]);
  });
});
