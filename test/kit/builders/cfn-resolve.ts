/**
 * Resolves the CloudFormation intrinsics a synthesized template uses (Ref, Fn::GetAtt, Fn::Join,
 * Fn::Select, Fn::Split, Fn::Sub without variables map) against made-up but well-formed physical
 * values, so a test can read a rule body or an event pattern as the deployed resource would see it.
 */

export const FAKE_ENV = { partition: 'aws', region: 'eu-west-2', accountId: '111122223333' } as const;

export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
}
export type CfnResources = Record<string, CfnResource>;

/** Secrets Manager's random suffix the fake secret ARNs carry, as real ones do. */
export const FAKE_SECRET_SUFFIX = 'AbC123';

const arn = (service: string, resource: string, region: string = FAKE_ENV.region) =>
  `arn:${FAKE_ENV.partition}:${service}:${region}:${FAKE_ENV.accountId}:${resource}`;

/** The physical name CloudFormation would generate for a resource without one. */
export const generatedName = (logicalId: string) => `${logicalId}-RaNdOm12AbCd`;

function ref(logicalId: string, resources: CfnResources): string {
  const pseudo: Record<string, string> = {
    'AWS::Partition': FAKE_ENV.partition,
    'AWS::Region': FAKE_ENV.region,
    'AWS::AccountId': FAKE_ENV.accountId,
    'AWS::StackName': 'ThroughLineTokenBroker-test',
    'AWS::URLSuffix': 'amazonaws.com',
    'AWS::StackId': `arn:${FAKE_ENV.partition}:cloudformation:${FAKE_ENV.region}:${FAKE_ENV.accountId}:stack/ThroughLineTokenBroker-test/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0`,
  };
  if (pseudo[logicalId]) return pseudo[logicalId];
  const resource = resources[logicalId];
  if (!resource) throw new Error(`Ref to unknown resource ${logicalId}`);
  switch (resource.Type) {
    case 'AWS::SecretsManager::Secret':
      return arn('secretsmanager', `secret:${generatedName(logicalId)}-${FAKE_SECRET_SUFFIX}`);
    case 'AWS::SNS::Topic':
      return arn('sns', generatedName(logicalId));
    case 'AWS::StepFunctions::StateMachine':
      return arn('states', `stateMachine:${generatedName(logicalId)}`);
    case 'AWS::Lambda::Alias': {
      // Ref of an alias is its ARN: the function's ARN with the alias name as qualifier.
      const fn = resolveCfn(resource.Properties?.FunctionName, resources) as string;
      const name = fn.includes(':function:') ? fn.split(':function:')[1] : fn;
      return arn('lambda', `function:${name}:${resource.Properties?.Name as string}`);
    }
    case 'AWS::SQS::Queue':
      return `https://sqs.${FAKE_ENV.region}.amazonaws.com/${FAKE_ENV.accountId}/${generatedName(logicalId)}`;
    default:
      return generatedName(logicalId);
  }
}

function getAtt(logicalId: string, attribute: string, resources: CfnResources): string {
  const resource = resources[logicalId];
  if (!resource) throw new Error(`Fn::GetAtt on unknown resource ${logicalId}`);
  if (resource.Type === 'AWS::IAM::Role' && attribute === 'Arn')
    return arn('iam', `role/${generatedName(logicalId)}`, '');
  if (resource.Type === 'AWS::CloudWatch::InsightRule' && attribute === 'RuleName') {
    return resolveCfn(resource.Properties?.RuleName, resources) as string;
  }
  if (resource.Type === 'AWS::SQS::Queue' && attribute === 'QueueName') return generatedName(logicalId);
  if (resource.Type === 'AWS::SQS::Queue' && attribute === 'Arn') return arn('sqs', generatedName(logicalId));
  if (resource.Type === 'AWS::Lambda::Function' && attribute === 'Arn') {
    return arn('lambda', `function:${generatedName(logicalId)}`);
  }
  if (resource.Type === 'AWS::KMS::Key' && attribute === 'Arn')
    return arn('kms', `key/${generatedName(logicalId)}`);
  if (resource.Type === 'AWS::DynamoDB::Table' && attribute === 'Arn') {
    return arn('dynamodb', `table/${generatedName(logicalId)}`);
  }
  if (attribute === 'Arn') return arn('unknown', generatedName(logicalId));
  return `${generatedName(logicalId)}.${attribute}`;
}

export function resolveCfn(value: unknown, resources: CfnResources): unknown {
  if (Array.isArray(value)) return value.map((v) => resolveCfn(v, resources));
  if (typeof value !== 'object' || value === null) return value;
  const entries = Object.entries(value);
  const [key, arg] = entries[0] ?? [];
  if (entries.length === 1 && key !== undefined) {
    if (key === 'Ref') return ref(arg as string, resources);
    if (key === 'Fn::GetAtt') {
      const [logicalId, attribute] = Array.isArray(arg) ? arg : String(arg).split('.');
      return getAtt(logicalId as string, attribute as string, resources);
    }
    if (key === 'Fn::Join') {
      const [separator, parts] = arg as [string, unknown[]];
      return (resolveCfn(parts, resources) as unknown[]).map(String).join(separator);
    }
    if (key === 'Fn::Select') {
      const [index, list] = arg as [number | string, unknown];
      const resolved = resolveCfn(list, resources) as unknown[];
      return resolved[Number(index)];
    }
    if (key === 'Fn::Split') {
      const [separator, source] = arg as [string, unknown];
      return String(resolveCfn(source, resources)).split(separator);
    }
    if (key === 'Fn::Sub' && typeof arg === 'string') {
      return arg.replace(/\$\{([^}]+)\}/g, (_, name: string) => {
        const [logicalId, attribute] = name.split('.');
        return attribute ? getAtt(logicalId as string, attribute, resources) : ref(name, resources);
      });
    }
    if (key.startsWith('Fn::')) throw new Error(`resolveCfn: ${key} is not supported`);
  }
  return Object.fromEntries(entries.map(([k, v]) => [k, resolveCfn(v, resources)]));
}
