import type { CfnResource } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import { NagRuleCompliance, rules } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { EnvVar } from '../../contract/env-vars';
import { ROTATION_PROGRESS_TAG } from '../../contract/rotation-progress';
import { StackOutput } from '../../contract/stack-outputs';
import type { TokenBrokerStack } from '../../lib/token-broker-stack';
import { idOf, synthBrokerForAssertions } from '../kit/builders/synth';

let template: Template;
let stack: TokenBrokerStack;

beforeAll(() => {
  ({ template, stack } = synthBrokerForAssertions('rotation'));
});

const secretRef = () => ({ Ref: idOf(stack, stack.credentialStore.secret) });
const rotateFnId = () => idOf(stack, stack.credentialRotation.handler.function);
const rotateRoleId = () => idOf(stack, stack.credentialRotation.handler.role);

function statementsOfRole(roleId: string): Record<string, unknown>[] {
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((p) => (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === roleId))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as Record<string, unknown>[]);
}

describe('credential rotation — wiring to the secret', () => {
  it('attaches the rotate-credentials function to the secret, with no automatic interval and no rotation on deploy', () => {
    const schedules = template.findResources('AWS::SecretsManager::RotationSchedule');
    expect(Object.values(schedules)).toHaveLength(1);
    const [[id, schedule]] = Object.entries(schedules) as [
      [string, { Properties: Record<string, unknown>; DependsOn: string[] }],
    ];
    expect(schedule.Properties).toEqual({
      SecretId: secretRef(),
      RotationLambdaARN: { 'Fn::GetAtt': [rotateFnId(), 'Arn'] },
      RotateImmediatelyOnUpdate: false,
    });
    expect(id).toBeDefined();
    // Secrets Manager tests the configuration on create: permission and role policy must exist first.
    const permissionId = idOf(
      stack,
      stack.credentialRotation.handler.function.node.findChild('InvokedBySecretsManager'),
    );
    expect(schedule.DependsOn).toEqual(expect.arrayContaining([permissionId]));
    expect(
      schedule.DependsOn.some(
        (d) => d.startsWith(rotateRoleId().replace(/[A-F0-9]{8}$/, '')) && d.includes('DefaultPolicy'),
      ),
    ).toBe(true);
  });

  it('lets only Secrets Manager of this account invoke the function', () => {
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      FunctionName: { 'Fn::GetAtt': [rotateFnId(), 'Arn'] },
      Principal: 'secretsmanager.amazonaws.com',
      SourceAccount: { Ref: 'AWS::AccountId' },
    });
  });

  it("adds the rotate role to the secret's deny-read exceptions (with mint-token's, and no other)", () => {
    const [policy] = Object.values(template.findResources('AWS::SecretsManager::ResourcePolicy'));
    const statements = (policy?.Properties.ResourcePolicy.Statement ?? []) as Record<string, unknown>[];
    const deny = statements.find((s) => s.Effect === 'Deny') as {
      Condition: { ArnNotEquals: { 'aws:PrincipalArn': unknown[] } };
    };
    expect(deny.Condition.ArnNotEquals['aws:PrincipalArn']).toEqual([
      { 'Fn::GetAtt': [idOf(stack, stack.mintToken.handler.role), 'Arn'] },
      { 'Fn::GetAtt': [rotateRoleId(), 'Arn'] },
    ]);
  });

  it('the environment names the secret and mint-token, and carries no table, key or value', () => {
    const fn = template.findResources('AWS::Lambda::Function')[rotateFnId()];
    const vars = fn?.Properties.Environment.Variables as Record<string, unknown>;
    expect(vars[EnvVar.CredentialsSecretArn]).toEqual(secretRef());
    expect(vars[EnvVar.MintTokenFunctionName]).toEqual({
      Ref: idOf(stack, stack.mintToken.handler.function),
    });
    expect(JSON.parse(vars[EnvVar.Settings] as string)).toHaveProperty('upstream.tokenUrl');
    expect(vars[EnvVar.TokenTableName]).toBeUndefined();
    expect(vars[EnvVar.TokenKeyArn]).toBeUndefined();
    expect(fn?.Properties.TracingConfig).toEqual({ Mode: 'Active' });
  });

  it('exports the rotate function name as a stack output', () => {
    template.hasOutput(StackOutput.RotateFunctionName, { Value: { Ref: rotateFnId() } });
  });
});

describe('credential rotation — least privilege of the rotate role', () => {
  it('can read the credentials, write the rotation version, move staging labels, tag progress and invoke mint-token — nothing more', () => {
    const statements = statementsOfRole(rotateRoleId());
    const bySid = Object.fromEntries(statements.filter((s) => s.Sid).map((s) => [s.Sid, s]));
    expect(bySid.ReadThroughLineCredentials).toMatchObject({
      Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'],
      Resource: secretRef(),
    });
    expect(bySid.DecryptCredentialsViaSecretsManager).toMatchObject({ Action: 'kms:Decrypt' });
    // createSecret copies the staged pair into the rotation's version: PutSecretValue on this secret only,
    // and the key's GenerateDataKey only through Secrets Manager, only for this secret.
    expect(bySid.WriteRotationVersion).toEqual({
      Sid: 'WriteRotationVersion',
      Effect: 'Allow',
      Action: 'secretsmanager:PutSecretValue',
      Resource: secretRef(),
    });
    expect(bySid.EncryptRotationVersionViaSecretsManager).toMatchObject({
      Action: 'kms:GenerateDataKey',
      Condition: {
        StringEquals: {
          'kms:ViaService': {
            'Fn::Join': ['', ['secretsmanager.', { Ref: 'AWS::Region' }, '.', { Ref: 'AWS::URLSuffix' }]],
          },
          'kms:EncryptionContext:SecretARN': secretRef(),
        },
      },
    });
    expect(bySid.MoveCredentialStagingLabels).toMatchObject({
      Action: 'secretsmanager:UpdateSecretVersionStage',
      Resource: secretRef(),
    });
    expect(bySid.RecordRotationProgressTag).toEqual({
      Sid: 'RecordRotationProgressTag',
      Effect: 'Allow',
      Action: 'secretsmanager:TagResource',
      Resource: secretRef(),
      Condition: { 'ForAllValues:StringEquals': { 'aws:TagKeys': [ROTATION_PROGRESS_TAG] } },
    });
    expect(bySid.AskMintTokenToRefreshTheCache).toEqual({
      Sid: 'AskMintTokenToRefreshTheCache',
      Effect: 'Allow',
      Action: 'lambda:InvokeFunction',
      Resource: { 'Fn::GetAtt': [idOf(stack, stack.mintToken.handler.function), 'Arn'] },
    });
    // The only Deny: reads bound to the rotate function itself (lambda:SourceFunctionArn).
    expect(statements.filter((s) => s.Effect === 'Deny').map((s) => s.Sid)).toEqual([
      'DenyCredentialsReadFromOtherFunctions',
    ]);
    const actions = statements
      .filter((s) => s.Effect === 'Allow')
      .flatMap((s) => [s.Action].flat() as string[]);
    expect(actions.sort()).toEqual(
      [
        'kms:Decrypt',
        'kms:GenerateDataKey',
        'lambda:InvokeFunction',
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        'secretsmanager:DescribeSecret',
        'secretsmanager:GetSecretValue',
        'secretsmanager:PutSecretValue',
        'secretsmanager:TagResource',
        'secretsmanager:UpdateSecretVersionStage',
        'xray:PutTelemetryRecords',
        'xray:PutTraceSegments',
      ].sort(),
    );
    // Nothing is generated; mint-token owns the cache.
    expect(actions).not.toContain('secretsmanager:GetRandomPassword');
    expect(actions.some((a) => a.startsWith('dynamodb:'))).toBe(false);
  });
});

describe('credential rotation — cdk-nag', () => {
  it('AwsSolutions-SMG4 is not satisfied by a rotation function without an interval, so its acknowledgement stays', () => {
    // The rule itself, run on the secret: a RotationSchedule without RotationRules does not count.
    const secret = stack.credentialStore.secret.node.defaultChild as CfnResource;
    expect(rules.secretsmanager.SecretsManagerRotationEnabled(secret)).toBe(NagRuleCompliance.NON_COMPLIANT);
    // …and the acknowledgement on the secret says why, honestly.
    const acknowledged = JSON.stringify(secret.node.metadata);
    expect(acknowledged).toMatch(/AwsSolutions-SMG4/);
    expect(acknowledged).toMatch(/A rotation function IS attached/);
  });

  it('the whole app synthesizes with every finding acknowledged (synthBroker would throw otherwise)', () => {
    expect(template.findResources('AWS::SecretsManager::Secret')).toBeDefined();
  });
});
