import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import { describe, expect, it } from 'vitest';
import { StackOutput } from '../../contract/stack-outputs';
import { PlatformStack } from '../../examples/embedded-broker';
import { ConfigError } from '../../lib/config/load-config';
import { TokenBroker } from '../../lib/token-broker';
import { nagFindings, resourcesOfType, synthBroker, type Template, testOutdir } from '../kit/builders/synth';

/**
 * The reusable TokenBroker construct: the deployed stack keeps every stateful resource's logical ID
 * (an upgrade replaces nothing), a bare `new TokenBroker(stack, id)` is a complete broker, a platform
 * team's stack can embed it with its own key and topic (examples/), and its props are checked together.
 */

const STATEFUL_IDS = JSON.parse(
  readFileSync(path.join(__dirname, 'stateful-logical-ids.json'), 'utf8'),
) as Record<string, string[]>;

const templateOf = (app: App, stack: Stack) =>
  app.synth().getStackByName(stack.stackName).template as Template;

describe('the deployed stack (TokenBrokerStack) after the construct refactor', () => {
  it('keeps the logical ID of every stateful resource of the default stage (pinned before the refactor)', () => {
    const { template } = synthBroker('logical-ids');
    const now = Object.fromEntries(
      Object.keys(STATEFUL_IDS).map((type) => [
        type,
        resourcesOfType(template, type)
          .map(([id]) => id)
          .sort(),
      ]),
    );
    // Every pinned one is still there (new resources may join: the ticket topic did).
    for (const [type, ids] of Object.entries(STATEFUL_IDS))
      expect(now[type], type).toEqual(expect.arrayContaining(ids));
  });

  it('keeps the stack outputs the CLI and the client read, by their exact names', () => {
    const { template } = synthBroker('logical-ids-outputs');
    // Plus the endpoint output CDK's RestApi adds by itself.
    const names = Object.keys(template.Outputs ?? {});
    expect(names).toEqual(expect.arrayContaining(Object.values(StackOutput)));
    expect(names.filter((n) => !(Object.values(StackOutput) as string[]).includes(n))).toEqual([
      expect.stringMatching(/^TokenApiEndpoint/),
    ]);
  });
});

describe('TokenBroker in a stack of its own app', () => {
  it('with no props is a complete broker, cdk-nag clean, with its outputs', () => {
    const app = new App({ outdir: testOutdir('bare-broker') });
    const stack = new Stack(app, 'Bare');
    const broker = new TokenBroker(stack, 'Broker');

    const template = templateOf(app, stack);
    expect(nagFindings(app)).toEqual([]);
    // mint-token, serve-token, rotate-credentials and (proxy mode, on by default) proxy-throughline.
    expect(resourcesOfType(template, 'AWS::Lambda::Function')).toHaveLength(4);
    expect(Object.keys(template.Outputs ?? {})).toEqual(expect.arrayContaining(Object.values(StackOutput)));
    // Data is kept on destroy unless the settings say otherwise.
    expect(broker.config.removalPolicy).toBe('retain');
    expect(Object.keys(broker.outputs).sort()).toEqual(Object.values(StackOutput).sort());
  });

  it('the example platform stack: its key, its paging topic, a granted consumer — cdk-nag clean', () => {
    const app = new App({ outdir: testOutdir('embedded-example') });
    const stack = new PlatformStack(app, 'PlatformWithThroughLine');
    const template = templateOf(app, stack);

    expect(nagFindings(app)).toEqual([]);
    const keyIds = resourcesOfType(template, 'AWS::KMS::Key').map(([id]) => id);
    // The platform's two keys only: the broker made none of its own, not even a topic key.
    expect(keyIds.sort()).toEqual(
      [
        stack.getLogicalId(stack.node.findChild('PlatformKey').node.defaultChild as never),
        stack.getLogicalId(stack.node.findChild('PagingKey').node.defaultChild as never),
      ].sort(),
    );
    const platformKey = keyIds.find((id) => id.startsWith('PlatformKey'));
    const [, secret] = resourcesOfType(template, 'AWS::SecretsManager::Secret')[0] ?? [];
    expect(secret?.KmsKeyId).toEqual({ 'Fn::GetAtt': [platformKey, 'Arn'] });
    // Every alarm with actions pages the platform's topic.
    const [pagingId] = resourcesOfType(template, 'AWS::SNS::Topic').map(([id]) => id);
    expect(resourcesOfType(template, 'AWS::SNS::Topic')).toHaveLength(1);
    const withActions = [
      ...resourcesOfType(template, 'AWS::CloudWatch::Alarm'),
      ...resourcesOfType(template, 'AWS::CloudWatch::CompositeAlarm'),
    ].filter(([, a]) => Array.isArray(a.AlarmActions));
    expect(withActions.length).toBeGreaterThan(10);
    for (const [, alarm] of withActions) expect(alarm.AlarmActions).toEqual([{ Ref: pagingId }]);
    // Its naming: metrics, alarms and the dashboard carry the service name it chose.
    expect(String(withActions[0]?.[1].AlarmName)).toContain('platform-throughline');
    // The consumer role is in the API's resource policy and has execute-api:Invoke.
    const [, api] = resourcesOfType(template, 'AWS::ApiGateway::RestApi')[0] ?? [];
    const consumerId = stack.getLogicalId(stack.consumer.node.defaultChild as never);
    expect(JSON.stringify(api?.Policy)).toContain(consumerId);
    expect(
      JSON.stringify(
        resourcesOfType(template, 'AWS::IAM::Policy').filter(([id]) => id.startsWith('HelplineService')),
      ),
    ).toContain('execute-api:Invoke');
    // The broker's key-policy statements went onto the platform key.
    const [, key] = resourcesOfType(template, 'AWS::KMS::Key').find(([id]) => id === platformKey) ?? [];
    expect(JSON.stringify(key?.KeyPolicy)).toContain('DenyTokenDataKeysExceptTokenCacheRoles');
  });
});

describe('TokenBroker props are checked together', () => {
  it('a key of another stack is refused, saying why and what to do', () => {
    const app = new App({ outdir: testOutdir('broker-foreign-key') });
    const keyStack = new Stack(app, 'Keys');
    const key = new kms.Key(keyStack, 'Shared');
    expect(() => new TokenBroker(new Stack(app, 'Broker'), 'Broker', { existingKey: key })).toThrow(
      /existingKey: must be a key of the stack the broker is in .*create the key in that stack/,
    );
  });

  it('every problem in one ConfigError, each named by its path, no value echoed', () => {
    const app = new App({ outdir: testOutdir('broker-props') });
    const stack = new Stack(app, 'Checked');
    let error: unknown;
    try {
      new TokenBroker(stack, 'Broker', {
        settings: {
          removalPolicy: 'keep-forever' as never,
          monitoring: { alarmTopicArn: 'arn:aws:sns:eu-west-2:111122223333:pager' },
          refresh: { scheduleRateMinutes: -5 },
        },
        serviceName: 'has spaces in it',
        stageName: 'Prod',
        onCall: { existingTopic: {} as never },
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems).toHaveLength(5);
    expect(problems.some((p) => p.startsWith('settings.removalPolicy:'))).toBe(true);
    expect(problems.some((p) => p.startsWith('settings.refresh.scheduleRateMinutes:'))).toBe(true);
    expect(problems.some((p) => p.startsWith('serviceName:'))).toBe(true);
    expect(problems.some((p) => p.startsWith('stageName:'))).toBe(true);
    expect(
      problems.some((p) => p.startsWith('onCall.existingTopic and settings.monitoring.alarmTopicArn')),
    ).toBe(true);
    expect((error as Error).message).not.toContain('has spaces in it');
  });
});
