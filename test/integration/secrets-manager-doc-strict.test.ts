import { randomUUID } from 'node:crypto';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  RotateSecretCommand,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DocStrictSecretsManager } from '../kit/emulators/secrets-manager-doc-strict';
import { awsClientConfig, BrokerFixture, makeCredentials } from '../kit/vitest/broker-fixture';
import { bundled } from '../kit/vitest/rotation-fixture';

/**
 * The doc-strict Secrets Manager stand-in itself (test/kit/emulators/secrets-manager-doc-strict.ts): its
 * documented refusals and its corrections of moto, so the rotation tests rest on a checked emulator.
 */
let standIn: DocStrictSecretsManager;
let client: SecretsManagerClient;

beforeAll(async () => {
  standIn = await DocStrictSecretsManager.start(
    inject('motoEndpoint'),
    new SecretsManagerClient(awsClientConfig()),
    { retries: 2, retryDelayMs: 10 },
  );
  client = new SecretsManagerClient({ ...awsClientConfig(), endpoint: standIn.url });
});
afterAll(async () => {
  await standIn.stop();
});

/** A secret with a rotation function attached: the bundled rotate-credentials, with nothing to talk to. */
async function secretWithRotation() {
  const broker = await BrokerFixture.create(makeCredentials());
  standIn.attachRotation(broker.secretArn, {
    bundle: bundled('RotateCredentials').bundle,
    env: () => ({
      ...broker.functionEnv(bundled('RotateCredentials').environment, () => {}),
      AWS_ENDPOINT_URL_SECRETS_MANAGER: standIn.url,
      MINT_TOKEN_FUNCTION_NAME: 'none',
    }),
  });
  return broker;
}

const stagesOf = async (secretId: string) =>
  (await client.send(new DescribeSecretCommand({ SecretId: secretId }))).VersionIdsToStages ?? {};

describe('doc-strict Secrets Manager stand-in', () => {
  it('refuses RotateSecret while AWSPENDING is on a non-current version — even with that version as the token', async () => {
    const broker = await secretWithRotation();
    const token = randomUUID();
    // The undocumented flow this stand-in replaces: stage as AWSPENDING under T, then RotateSecret(T).
    await client.send(
      new PutSecretValueCommand({
        SecretId: broker.secretArn,
        ClientRequestToken: token,
        SecretString: JSON.stringify(makeCredentials()),
        VersionStages: ['AWSPENDING'],
      }),
    );

    for (const request of [{ ClientRequestToken: token }, {}]) {
      await expect(
        client.send(
          new RotateSecretCommand({ SecretId: broker.secretArn, RotateImmediately: true, ...request }),
        ),
      ).rejects.toMatchObject({
        name: 'InvalidRequestException',
        message: "A previous rotation isn't complete. That rotation will be reattempted.",
      });
    }
    expect(standIn.rotationsOf(broker.secretArn)).toHaveLength(0);
  });

  it("creates the rotation's version with AWSPENDING and no value, and retries the whole rotation after a failed step", async () => {
    const broker = await secretWithRotation();

    const { VersionId } = await client.send(
      new RotateSecretCommand({ SecretId: broker.secretArn, RotateImmediately: true }),
    );

    const token = VersionId as string;
    expect((await stagesOf(broker.secretArn))[token]).toEqual(['AWSPENDING']);
    await expect(
      client.send(new GetSecretValueCommand({ SecretId: broker.secretArn, VersionId: token })),
    ).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    await standIn.settled();
    // Nothing staged: createSecret fails on every attempt; 1 + 2 retries, each from createSecret.
    const attempts = standIn.invocations.filter((i) => i.token === token);
    expect(attempts.map((i) => `${i.attempt}:${i.step}:${i.error}`)).toEqual([
      '0:createSecret:RotationNotStagedError',
      '1:createSecret:RotationNotStagedError',
      '2:createSecret:RotationNotStagedError',
    ]);
    expect(attempts.every((i) => i.event.RotationToken && i.event.ClientRequestToken === token)).toBe(true);
    expect(standIn.events.filter((e) => e.token === token).map((e) => e.eventName)).toEqual([
      'RotationStarted',
      'RotationFailed',
      'RotationFailed',
      'RotationFailed',
    ]);
    // Unsuccessful: AWSPENDING stays on the empty version, and the next RotateSecret is refused.
    expect((await stagesOf(broker.secretArn))[token]).toEqual(['AWSPENDING']);
    await expect(
      client.send(new RotateSecretCommand({ SecretId: broker.secretArn, RotateImmediately: true })),
    ).rejects.toMatchObject({ name: 'InvalidRequestException' });
    // Releasing the label (the documented clean-up) lets a new rotation start.
    await client.send(
      new UpdateSecretVersionStageCommand({
        SecretId: broker.secretArn,
        VersionStage: 'AWSPENDING',
        RemoveFromVersionId: token,
      }),
    );
    expect((await stagesOf(broker.secretArn))[token]).toBeUndefined();
  });

  it('a new version written during a rotation abandons it and removes AWSPENDING', async () => {
    const broker = await secretWithRotation();
    const rotation = await standIn.openRotation(broker.secretArn);

    await client.send(
      new PutSecretValueCommand({
        SecretId: broker.secretArn,
        SecretString: JSON.stringify(makeCredentials()),
        VersionStages: ['SOMETHING'],
      }),
    );

    expect(standIn.events).toContainEqual({ eventName: 'RotationAbandoned', token: rotation.token });
    expect(Object.values(await stagesOf(broker.secretArn)).flat()).not.toContain('AWSPENDING');
  });

  it('corrects moto: GetSecretValue without a stage returns AWSCURRENT after UpdateSecretVersionStage', async () => {
    const first = makeCredentials();
    const broker = await BrokerFixture.create(first);
    const firstVersion = Object.keys(await stagesOf(broker.secretArn))[0] as string;
    const second = makeCredentials();
    const { VersionId } = await client.send(
      new PutSecretValueCommand({
        SecretId: broker.secretArn,
        SecretString: JSON.stringify(second),
        VersionStages: ['STAGED'],
      }),
    );
    await client.send(
      new UpdateSecretVersionStageCommand({
        SecretId: broker.secretArn,
        VersionStage: 'AWSCURRENT',
        MoveToVersionId: VersionId,
        RemoveFromVersionId: firstVersion,
      }),
    );

    const value = await client.send(new GetSecretValueCommand({ SecretId: broker.secretArn }));

    expect(JSON.parse(value.SecretString ?? '{}')).toEqual(second);
  });
});
