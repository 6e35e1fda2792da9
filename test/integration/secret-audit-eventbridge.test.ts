import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { FAKE_SECRET_SUFFIX, generatedName, resolveCfn } from '../kit/builders/cfn-resolve';
import { getSecretValueEvent, identity } from '../kit/builders/cloudtrail-events';
import { matchesEventPattern } from '../kit/builders/event-pattern-matcher';
import { resourcesOfType, synthBroker } from '../kit/builders/synth';
import { awsJson, EVENTS, SQS } from '../kit/local-aws/aws-json-client';

/**
 * The unexpected-secret-read rule, exactly as synthesized (pattern and input transformer), loaded
 * into moto_server's EventBridge with an SQS queue standing in for the SNS topic. A second,
 * independent implementation of EventBridge matching: it must agree with the project's matcher.
 */
const { template } = synthBroker('secret-audit-eventbridge');
const logicalId = (type: string, prefix: string) =>
  Object.entries(template.Resources).find(
    ([id, r]) => r.Type === type && id.startsWith(prefix),
  )?.[0] as string;
const [, ruleProps] = resourcesOfType(template, 'AWS::Events::Rule').find(([id]) =>
  id.startsWith('MonitoringSecretAuditUnexpectedRead'),
) as [string, Record<string, unknown>];
const rule = resolveCfn(ruleProps, template.Resources) as {
  EventPattern: Record<string, unknown>;
  State: string;
  Targets: { InputTransformer: { InputTemplate: string; InputPathsMap: Record<string, string> } }[];
};
const secretLogicalId = logicalId('AWS::SecretsManager::Secret', 'CredentialStoreCredentials');
const secretArn = `arn:aws:secretsmanager:eu-west-2:111122223333:secret:${generatedName(secretLogicalId)}-${FAKE_SECRET_SUFFIX}`;
const mintRoleArn = `arn:aws:iam::111122223333:role/${generatedName(logicalId('AWS::IAM::Role', 'MintTokenHandlerRole'))}`;

let endpoint: string;
let queueUrl: string;

beforeAll(async () => {
  endpoint = inject('motoEndpoint');
  const suffix = randomUUID().slice(0, 8);
  const queue = await awsJson<{ QueueUrl: string }>(endpoint, SQS, 'CreateQueue', {
    QueueName: `on-call-${suffix}`,
  });
  queueUrl = queue.QueueUrl;
  const { Attributes } = await awsJson<{ Attributes: { QueueArn: string } }>(
    endpoint,
    SQS,
    'GetQueueAttributes',
    {
      QueueUrl: queueUrl,
      AttributeNames: ['QueueArn'],
    },
  );
  const name = `unexpected-secret-read-${suffix}`;
  await awsJson(endpoint, EVENTS, 'PutRule', {
    Name: name,
    EventPattern: JSON.stringify(rule.EventPattern),
    State: rule.State,
  });
  await awsJson(endpoint, EVENTS, 'PutTargets', {
    Rule: name,
    Targets: [
      { Id: 'on-call', Arn: Attributes.QueueArn, InputTransformer: rule.Targets[0]?.InputTransformer },
    ],
  });
});

async function deliver(event: ReturnType<typeof getSecretValueEvent>): Promise<string[]> {
  await awsJson(endpoint, EVENTS, 'PutEvents', {
    Entries: [
      { Source: event.source, DetailType: event['detail-type'], Detail: JSON.stringify(event.detail) },
    ],
  });
  const { Messages = [] } = await awsJson<{ Messages?: { Body: string; ReceiptHandle: string }[] }>(
    endpoint,
    SQS,
    'ReceiveMessage',
    { QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 },
  );
  for (const m of Messages)
    await awsJson(endpoint, SQS, 'DeleteMessage', { QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle });
  return Messages.map((m) => JSON.parse(m.Body) as string);
}

describe('unexpected secret read rule in moto EventBridge', () => {
  it('is synthesized in the state that receives read-only management events', () => {
    expect(rule.State).toBe('ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS');
  });

  it('delivers a denied read by an administrator, naming the principal', async () => {
    const event = getSecretValueEvent({
      secretId: secretArn,
      userIdentity: identity.assumedRole('arn:aws:iam::111122223333:role/Admin', 'mallory'),
      errorCode: 'AccessDenied',
    });
    const messages = await deliver(event);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toContain('read by arn:aws:sts::111122223333:assumed-role/Admin/mallory');
    expect(messages[0]).toContain('error code (empty when the read succeeded): AccessDenied');
    expect(matchesEventPattern(rule.EventPattern, event)).toBe(true);
  });

  it('delivers a read by an IAM user, which has no session issuer', async () => {
    const event = getSecretValueEvent({
      secretId: generatedName(secretLogicalId),
      userIdentity: identity.iamUser('bob'),
      errorCode: 'AccessDenied',
    });
    expect(await deliver(event)).toHaveLength(1);
    expect(matchesEventPattern(rule.EventPattern, event)).toBe(true);
  });

  it('delivers nothing for the mint-token role reading its own credentials', async () => {
    const event = getSecretValueEvent({
      secretId: secretArn,
      userIdentity: identity.assumedRole(mintRoleArn, 'fn'),
    });
    expect(await deliver(event)).toEqual([]);
    expect(matchesEventPattern(rule.EventPattern, event)).toBe(false);
  });

  it('delivers nothing for reads of other secrets', async () => {
    const event = getSecretValueEvent({
      secretId: 'arn:aws:secretsmanager:eu-west-2:111122223333:secret:unrelated-AbC123',
      userIdentity: identity.root(),
    });
    expect(await deliver(event)).toEqual([]);
    expect(matchesEventPattern(rule.EventPattern, event)).toBe(false);
  });
});
