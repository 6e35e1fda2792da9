import { App } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../lib/app';
import { TOPIC_KEY_PUBLISHER_ACTIONS } from '../../lib/constructs/on-call-topic';
import { cdkJsonContext } from '../kit/builders/cdk-context';
import { type CfnResources, FAKE_ENV, resolveCfn } from '../kit/builders/cfn-resolve';
import { testOutdir } from '../kit/builders/synth';

/**
 * Deploy-time rules: what CloudFormation or the services reject (or silently ignore) at deploy or at
 * run time, but `cdk synth`, cdk-nag and cfn-lint accept. Each rule names the AWS document it follows.
 * They run on the synthesized template of the default stage (dev, removalPolicy destroy) and of the
 * prod stage (removalPolicy retain), as `cdk synth -c stage=<name>` builds them.
 */

interface Resource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly DeletionPolicy?: string;
  readonly UpdateReplacePolicy?: string;
}
interface Statement {
  readonly Sid?: string;
  readonly Effect: 'Allow' | 'Deny';
  readonly Principal?: unknown;
  readonly Action?: string | string[];
  readonly Resource?: unknown;
  readonly Condition?: Record<string, Record<string, unknown>>;
}
interface PolicyDocument {
  readonly Statement: Statement[];
}

function synthStage(stage: string): Record<string, Resource> {
  const app = new App({ context: cdkJsonContext({ stage }), outdir: testOutdir(`deploy-rules-${stage}`) });
  const { stack } = buildApp(app);
  return (app.synth().getStackByName(stack.stackName).template as { Resources: Record<string, Resource> })
    .Resources;
}

const list = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];
const ofType = (resources: Record<string, Resource>, type: string) =>
  Object.entries(resources).filter(([, r]) => r.Type === type);
/** The logical id a {"Ref"} or {"Fn::GetAtt"} points at, if it is one. */
function targetOf(value: unknown): string | undefined {
  const v = value as { Ref?: string; 'Fn::GetAtt'?: [string, string] } | undefined;
  return v?.Ref ?? v?.['Fn::GetAtt']?.[0];
}

/** IAM wildcard match (`*`, `?`), case-insensitive as IAM compares actions. */
function wildcard(pattern: string, value: string, caseInsensitive = false): boolean {
  const re = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
    caseInsensitive ? 'i' : '',
  );
  return re.test(value);
}

/**
 * Does `statement` apply to this service's request? Only the condition operators these policies use
 * are evaluated (StringEquals, ArnLike, ArnEquals, Bool); any other operator fails the test, so an
 * unevaluated condition can never pass silently. Condition values are resolved like the deployed ones.
 */
function applies(
  statement: Statement,
  request: { service: string; action: string; resourceArn: string; context: Record<string, string> },
  resources: CfnResources,
): boolean {
  const principal = statement.Principal as { Service?: string | string[] } | string | undefined;
  const services = typeof principal === 'object' ? list(principal.Service) : [];
  const matchesPrincipal = principal === '*' || services.includes(request.service);
  const matchesAction = list(statement.Action).some((a) => wildcard(a, request.action, true));
  const matchesResource = list(resolveCfn(statement.Resource, resources) as string | string[]).some((r) =>
    wildcard(r, request.resourceArn),
  );
  if (!(matchesPrincipal && matchesAction && matchesResource)) return false;
  return Object.entries(statement.Condition ?? {}).every(([operator, keys]) =>
    Object.entries(keys).every(([key, expected]) => {
      const actual = request.context[key];
      const values = list(resolveCfn(expected, resources) as string | string[]).map(String);
      if (actual === undefined) return false;
      switch (operator) {
        case 'StringEquals':
        case 'ArnEquals':
        case 'Bool':
          return values.includes(actual);
        case 'ArnLike':
        case 'StringLike':
          return values.some((v) => wildcard(v, actual));
        default:
          throw new Error(`condition operator ${operator} is not evaluated by this test`);
      }
    }),
  );
}

/** Allowed by a resource policy: some Allow applies and no Deny does. */
function allowedBy(
  document: PolicyDocument,
  request: Parameters<typeof applies>[1],
  resources: CfnResources,
): boolean {
  const matching = document.Statement.filter((s) => applies(s, request, resources));
  return matching.some((s) => s.Effect === 'Allow') && !matching.some((s) => s.Effect === 'Deny');
}

/** Every policy document in the template, with where it sits. */
function policyDocuments(resources: Record<string, Resource>): [string, PolicyDocument][] {
  const out: [string, PolicyDocument][] = [];
  for (const [id, r] of Object.entries(resources)) {
    const p = r.Properties ?? {};
    const candidates: [string, unknown][] = [
      ['PolicyDocument', p.PolicyDocument],
      ['AssumeRolePolicyDocument', p.AssumeRolePolicyDocument],
      ['KeyPolicy', p.KeyPolicy],
      ['ResourcePolicy', p.ResourcePolicy],
      [
        'ResourcePolicy.PolicyDocument',
        (p.ResourcePolicy as { PolicyDocument?: unknown } | undefined)?.PolicyDocument,
      ],
      ['Policy', p.Policy],
      ...list(p.Policies as { PolicyDocument: unknown }[] | undefined).map(
        (x, i) => [`Policies.${i}`, x.PolicyDocument] as [string, unknown],
      ),
    ];
    for (const [where, doc] of candidates) {
      if (doc && typeof doc === 'object' && 'Statement' in doc)
        out.push([`${id}.${where}`, doc as PolicyDocument]);
    }
  }
  return out;
}

/** Literal strings anywhere in a value (the literal parts of Fn::Join included). */
function literals(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(literals);
  if (value && typeof value === 'object') return Object.values(value).flatMap(literals);
  return [];
}

/**
 * The actions a DynamoDB *table* resource policy may name. Stream actions act on a stream ARN and are
 * rejected in a table policy ("Invalid policy document: The following action names are invalid:
 * \"dynamodb:GetRecords\"", aws-cdk#32230): they go in the stream's own policy ("Attach a resource-based
 * policy to a stream", DynamoDB Developer Guide; the stream actions are listed in "IAM policy to grant
 * read access for a DynamoDB stream only").
 */
const DYNAMODB_STREAM_ACTIONS = [
  'dynamodb:GetRecords',
  'dynamodb:GetShardIterator',
  'dynamodb:DescribeStream',
  'dynamodb:ListStreams',
];
/** Table (and index) actions of the Service Authorization Reference, resource type "table". */
const DYNAMODB_TABLE_ACTIONS = [
  // Copies and policy changes (denied to all but the deployment): also resource type "table".
  'dynamodb:CreateBackup',
  'dynamodb:StartAwsBackupJob',
  'dynamodb:RestoreTableToPointInTime',
  'dynamodb:UpdateContinuousBackups',
  'dynamodb:PutResourcePolicy',
  'dynamodb:DeleteResourcePolicy',
  'dynamodb:BatchGetItem',
  'dynamodb:BatchWriteItem',
  'dynamodb:ConditionCheckItem',
  'dynamodb:DeleteItem',
  'dynamodb:DescribeTable',
  'dynamodb:ExportTableToPointInTime',
  'dynamodb:GetItem',
  'dynamodb:PartiQLDelete',
  'dynamodb:PartiQLInsert',
  'dynamodb:PartiQLSelect',
  'dynamodb:PartiQLUpdate',
  'dynamodb:PutItem',
  'dynamodb:Query',
  'dynamodb:Scan',
  'dynamodb:UpdateItem',
];

describe.each([
  ['dev', 'destroy'],
  ['prod', 'retain'],
])('deploy-time rules, stage %s (removalPolicy %s)', (stage) => {
  const resources = synthStage(stage);
  const cfn = resources as unknown as CfnResources;

  it('every action in a DynamoDB table resource policy is one DynamoDB accepts in a table policy', () => {
    const tables = ofType(resources, 'AWS::DynamoDB::Table');
    const actions = tables.flatMap(([, t]) =>
      (
        (t.Properties?.ResourcePolicy as { PolicyDocument?: PolicyDocument } | undefined)?.PolicyDocument
          ?.Statement ?? []
      ).flatMap((s) => list(s.Action)),
    );

    expect(actions.length).toBeGreaterThan(0);
    expect(actions.filter((a) => DYNAMODB_STREAM_ACTIONS.includes(a))).toEqual([]);
    expect(actions.filter((a) => !DYNAMODB_TABLE_ACTIONS.includes(a))).toEqual([]);
  });

  /**
   * Alarm → action → topic → topic policy → topic key. A topic policy replaces SNS's default one, so
   * CloudWatch needs an explicit Allow for sns:Publish (Knowledge Center "cloudwatch-receive-sns-for-
   * alarm-trigger"; CloudWatch passes aws:SourceArn = the alarm ARN and aws:SourceAccount); on an
   * encrypted topic the key policy must grant cloudwatch.amazonaws.com kms:Decrypt and
   * kms:GenerateDataKey* ("Enabling compatibility between event sources from AWS services and
   * encrypted topics", SNS Developer Guide; Knowledge Center "cloudwatch-configure-alarm-sns"). SNS's
   * call to KMS on the service's behalf carries no documented condition context, so the key statement
   * must be unconditioned, as the documented one is.
   */
  function assertServiceMayPublish(
    publisher: { service: string; sourceArn: string; what: string },
    topicId: string,
  ): void {
    const topic = resources[topicId];
    expect(topic?.Type, `${publisher.what} → ${topicId}`).toBe('AWS::SNS::Topic');
    const topicArn = resolveCfn({ Ref: topicId }, cfn) as string;
    const policies = ofType(resources, 'AWS::SNS::TopicPolicy').filter(([, p]) =>
      list(p.Properties?.Topics).some((t) => targetOf(t) === topicId),
    );
    expect(policies, `one topic policy for ${topicId}`).toHaveLength(1);
    const request = {
      service: publisher.service,
      action: 'sns:Publish',
      resourceArn: topicArn,
      context: {
        'aws:SourceAccount': FAKE_ENV.accountId,
        'aws:SourceArn': publisher.sourceArn,
        'aws:SecureTransport': 'true',
      },
    };
    expect(
      allowedBy(policies[0]?.[1].Properties?.PolicyDocument as PolicyDocument, request, cfn),
      `${publisher.what} may publish to ${topicId}`,
    ).toBe(true);
    // The scoping is real: another account's alarm or rule may not publish here (confused deputy).
    const other = '444455556666';
    const foreign = {
      ...request,
      context: {
        ...request.context,
        'aws:SourceAccount': other,
        'aws:SourceArn': publisher.sourceArn.replace(FAKE_ENV.accountId, other),
      },
    };
    expect(allowedBy(policies[0]?.[1].Properties?.PolicyDocument as PolicyDocument, foreign, cfn)).toBe(
      false,
    );

    const keyId = targetOf(topic?.Properties?.KmsMasterKeyId);
    if (topic?.Properties?.KmsMasterKeyId === undefined) return;
    expect(keyId && resources[keyId]?.Type, `${topicId}'s key is in the stack`).toBe('AWS::KMS::Key');
    const keyPolicy = resources[keyId as string]?.Properties?.KeyPolicy as PolicyDocument;
    const grants = keyPolicy.Statement.filter(
      (s) =>
        s.Effect === 'Allow' &&
        list((s.Principal as { Service?: string | string[] } | undefined)?.Service).includes(
          publisher.service,
        ) &&
        s.Condition === undefined,
    );
    const granted = grants.flatMap((s) => list(s.Action));
    for (const action of TOPIC_KEY_PUBLISHER_ACTIONS) {
      expect(granted, `${publisher.service} may ${action} with ${keyId}`).toContain(action);
    }
  }

  it('every alarm action that is an SNS topic can be published to by CloudWatch (topic policy and key)', () => {
    // Composite alarms publish as cloudwatch.amazonaws.com with their own alarm ARN, like metric alarms.
    const alarms = [
      ...ofType(resources, 'AWS::CloudWatch::Alarm'),
      ...ofType(resources, 'AWS::CloudWatch::CompositeAlarm'),
    ];
    expect(ofType(resources, 'AWS::CloudWatch::CompositeAlarm').length).toBeGreaterThan(0);
    const pairs = alarms.flatMap(([id, alarm]) =>
      ['AlarmActions', 'OKActions', 'InsufficientDataActions'].flatMap((field) =>
        list(alarm.Properties?.[field])
          .map(targetOf)
          .filter((t): t is string => t !== undefined && resources[t]?.Type === 'AWS::SNS::Topic')
          .map((topicId) => ({
            id,
            topicId,
            name: resolveCfn(alarm.Properties?.AlarmName ?? id, cfn) as string,
          })),
      ),
    );

    expect(pairs.length).toBeGreaterThan(0);
    for (const { id, topicId, name } of pairs) {
      assertServiceMayPublish(
        {
          service: 'cloudwatch.amazonaws.com',
          sourceArn: `arn:${FAKE_ENV.partition}:cloudwatch:${FAKE_ENV.region}:${FAKE_ENV.accountId}:alarm:${name}`,
          what: `alarm ${id}`,
        },
        topicId,
      );
    }
  });

  it('every EventBridge rule target that is an SNS topic can be published to by EventBridge (topic policy and key)', () => {
    // "Amazon SNS permissions", EventBridge User Guide: without a target role, EventBridge publishes as
    // events.amazonaws.com and needs the topic policy (and, encrypted, the key policy) to allow it.
    const pairs = ofType(resources, 'AWS::Events::Rule').flatMap(([id, rule]) =>
      list(rule.Properties?.Targets as { Arn: unknown; RoleArn?: unknown }[] | undefined)
        .filter((t) => t.RoleArn === undefined)
        .map((t) => targetOf(t.Arn))
        .filter((t): t is string => t !== undefined && resources[t]?.Type === 'AWS::SNS::Topic')
        .map((topicId) => ({ id, topicId })),
    );

    expect(pairs.length).toBeGreaterThan(0);
    for (const { id, topicId } of pairs) {
      assertServiceMayPublish(
        {
          service: 'events.amazonaws.com',
          sourceArn: `arn:${FAKE_ENV.partition}:events:${FAKE_ENV.region}:${FAKE_ENV.accountId}:rule/${id}`,
          what: `rule ${id}`,
        },
        topicId,
      );
    }
  });

  it('every state machine logs to a group under /aws/vendedlogs/states/', () => {
    // Step Functions Developer Guide, "Logging using CloudWatch Logs", and CloudWatch Logs "Enabling logging
    // from AWS services": other names add to the account's 5,120-character logs resource policy per deploy.
    const machines = ofType(resources, 'AWS::StepFunctions::StateMachine');
    const groups = machines.flatMap(([, m]) =>
      list(
        (
          m.Properties?.LoggingConfiguration as {
            Destinations?: { CloudWatchLogsLogGroup: { LogGroupArn: unknown } }[];
          }
        )?.Destinations,
      ).map((d) => targetOf(d.CloudWatchLogsLogGroup.LogGroupArn) as string),
    );

    expect(groups.length).toBe(machines.length);
    expect(groups.length).toBeGreaterThan(0);
    for (const group of groups) {
      expect(resolveCfn(resources[group]?.Properties?.LogGroupName, cfn)).toMatch(
        /^\/aws\/vendedlogs\/states\/./,
      );
    }
  });

  it("every secret resource policy has its secret's DeletionPolicy and UpdateReplacePolicy", () => {
    // AWS::SecretsManager::ResourcePolicy is a resource of its own (CloudFormation User Guide): a retained
    // secret whose policy is deleted with the stack is readable by any principal its IAM grants allow.
    const policies = ofType(resources, 'AWS::SecretsManager::ResourcePolicy');

    expect(policies.length).toBeGreaterThan(0);
    for (const [id, policy] of policies) {
      const secret = resources[targetOf(policy.Properties?.SecretId) as string];
      expect(secret?.Type, id).toBe('AWS::SecretsManager::Secret');
      expect([policy.DeletionPolicy, policy.UpdateReplacePolicy], id).toEqual([
        secret?.DeletionPolicy,
        secret?.UpdateReplacePolicy,
      ]);
    }
  });

  it('no principal or condition hard-codes a partition-specific endpoint suffix', () => {
    // kms:ViaService values are service endpoint names (<service>.<region>.amazonaws.com, but
    // .amazonaws.com.cn in aws-cn: "kms:ViaService", AWS KMS Developer Guide; "Endpoints and ARNs for
    // Amazon Web Services in China"), so every condition must take the stack's AWS::URLSuffix. Service
    // principals are names, not endpoints: <service>.amazonaws.com in every partition (aws-cdk-lib
    // normalises them so since 2.x, and IAM in aws-cn rejects e.g. "monitoring.rds.amazonaws.com.cn");
    // only a region-qualified principal (logs.<region>.<suffix>) is an endpoint and must use the suffix.
    const global = /^[a-z0-9-]+\.amazonaws\.com$/;
    const problems: string[] = [];
    for (const [where, doc] of policyDocuments(resources)) {
      for (const [i, s] of doc.Statement.entries()) {
        for (const text of literals(s.Condition)) {
          if (text.includes('amazonaws.com')) problems.push(`${where}[${i}] condition: ${text}`);
        }
        const services = list((s.Principal as { Service?: unknown } | undefined)?.Service);
        for (const service of services) {
          if (typeof service === 'string' && !global.test(service))
            problems.push(`${where}[${i}] principal: ${service}`);
          if (typeof service !== 'string') {
            for (const text of literals(service)) {
              if (text.includes('amazonaws.com')) problems.push(`${where}[${i}] principal part: ${text}`);
            }
          }
        }
      }
    }
    for (const [id, permission] of ofType(resources, 'AWS::Lambda::Permission')) {
      const principal = permission.Properties?.Principal;
      if (typeof principal === 'string' && principal.includes('amazonaws') && !global.test(principal)) {
        problems.push(`${id} principal: ${principal}`);
      }
    }

    expect(policyDocuments(resources).length).toBeGreaterThan(10);
    expect(problems).toEqual([]);
  });
});
