import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { afterAll, describe, expect, it } from 'vitest';
import { StackOutput } from '../../contract/stack-outputs';
import { buildApp } from '../../lib/app';
import { ACCESS_LOG_FIELDS } from '../../lib/constructs/access-log-format';
import type { TokenBrokerStack } from '../../lib/token-broker-stack';
import { cdkJsonContext } from '../kit/builders/cdk-context';

/**
 * Template assertions on the token API and serve-token, for the default stage and for configured
 * ones, plus cdk-nag (AwsSolutions + Serverless) on each. Bundling is skipped: these tests read
 * the template, not the code (the integration tests run the real bundles).
 */
const outdirs: string[] = [];
afterAll(() => {
  for (const dir of outdirs) rmSync(dir, { recursive: true, force: true });
});

interface Synth {
  readonly app: App;
  readonly stack: TokenBrokerStack;
  readonly template: Template;
}

function synth(stage: Record<string, unknown> = {}, extend?: (stack: TokenBrokerStack) => void): Synth {
  const outdir = mkdtempSync(path.join(tmpdir(), 'token-api-test-'));
  outdirs.push(outdir);
  const app = new App({
    context: cdkJsonContext({ stage: 'test', stages: { test: stage }, 'aws:cdk:bundling-stacks': [] }),
    outdir,
  });
  const { stack } = buildApp(app);
  extend?.(stack);
  return { app, stack, template: Template.fromStack(stack) };
}

type Statement = {
  Sid?: string;
  Effect: string;
  Principal?: unknown;
  Action: unknown;
  Resource: unknown;
  Condition?: Record<string, Record<string, unknown>>;
};

function resourcePolicy(template: Template): Statement[] {
  const apis = Object.values(template.findResources('AWS::ApiGateway::RestApi'));
  expect(apis).toHaveLength(1);
  return (apis[0]?.Properties.Policy as { Statement: Statement[] } | undefined)?.Statement ?? [];
}

const ACCOUNT_ROOT = {
  'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' }, ':root']],
};

function nagViolations(app: App): string[] {
  return [new AwsSolutionsChecks(app), new ServerlessChecks(app)].flatMap((pack) =>
    pack
      .validateScope(app)
      .violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} ${r.resourceLogicalId}`)),
  );
}

const defaultStage = synth();

describe('TokenApi — authentication and resource policy', () => {
  it('every method uses AWS_IAM', () => {
    const methods = Object.values(defaultStage.template.findResources('AWS::ApiGateway::Method'));
    expect(methods.length).toBeGreaterThan(0);
    for (const method of methods) expect(method.Properties.AuthorizationType).toBe('AWS_IAM');
    defaultStage.template.hasResourceProperties('AWS::ApiGateway::Method', {
      HttpMethod: 'GET',
      AuthorizationType: 'AWS_IAM',
      RequestParameters: { 'method.request.querystring.min_ttl': false },
      RequestValidatorId: Match.anyValue(),
    });
    defaultStage.template.hasResourceProperties('AWS::ApiGateway::RequestValidator', {
      ValidateRequestParameters: true,
    });
  });

  it('default: allows only the deploying account (delegated to IAM grants) and denies every other account', () => {
    expect(resourcePolicy(defaultStage.template)).toEqual([
      {
        Sid: 'AllowDeployingAccountPrincipalsWithIamGrant',
        Effect: 'Allow',
        Principal: { AWS: ACCOUNT_ROOT },
        Action: 'execute-api:Invoke',
        // Proxy mode is on by default: whoever may get a token may call ThroughLine through the broker.
        Resource: [
          'execute-api:/*/GET/throughline/*',
          'execute-api:/*/GET/token',
          'execute-api:/*/POST/throughline/*',
        ],
      },
      {
        Sid: 'DenyEveryoneNotListed',
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Action: 'execute-api:Invoke',
        Resource: 'execute-api:/*',
        Condition: { StringNotEquals: { 'aws:PrincipalAccount': [{ Ref: 'AWS::AccountId' }] } },
      },
    ]);
    defaultStage.template.hasResourceProperties('AWS::ApiGateway::RestApi', {
      EndpointConfiguration: { Types: ['REGIONAL'] },
    });
  });

  it('proxy mode off: the allows name GET /token only, and there is no /throughline resource', () => {
    const { template } = synth({ proxy: { enabled: false } });
    expect(resourcePolicy(template).find((s) => s.Effect === 'Allow')?.Resource).toBe(
      'execute-api:/*/GET/token',
    );
    expect(
      Object.values(template.findResources('AWS::ApiGateway::Resource')).map((r) => r.Properties.PathPart),
    ).toEqual(['token']);
  });

  it('configured principals, accounts and organisation: exactly those are allowed, everyone else denied', () => {
    const role = 'arn:aws:iam::111122223333:role/orders-service';
    const { template } = synth({
      api: {
        allowDeployingAccount: false,
        allowedPrincipalArns: [role],
        allowedAccountIds: ['444455556666'],
        allowedOrganizationIds: ['o-a1b2c3d4e5'],
      },
    });

    const policy = resourcePolicy(template);
    const allows = policy.filter((s) => s.Effect === 'Allow');
    expect(allows.map((s) => [s.Sid, s.Principal, s.Condition])).toEqual([
      [
        'AllowListedAccountsPrincipalsWithIamGrant',
        { AWS: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::444455556666:root']] } },
        undefined,
      ],
      ['AllowListedPrincipals', { AWS: role }, undefined],
      [
        'AllowListedOrganizations',
        { AWS: '*' },
        {
          StringEquals: { 'aws:PrincipalOrgID': ['o-a1b2c3d4e5'] },
          StringNotEquals: { 'aws:PrincipalAccount': { Ref: 'AWS::AccountId' } },
        },
      ],
    ]);
    // The deploying account is allowed nowhere, not even through the organisation (that needs its IAM grants).
    expect(JSON.stringify(allows.filter((a) => a.Sid !== 'AllowListedOrganizations'))).not.toContain(
      'AWS::AccountId',
    );
    expect(policy.filter((s) => s.Effect === 'Deny')).toEqual([
      {
        Sid: 'DenyEveryoneNotListed',
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Action: 'execute-api:Invoke',
        Resource: 'execute-api:/*',
        Condition: {
          StringNotEquals: {
            'aws:PrincipalAccount': ['444455556666'],
            'aws:PrincipalOrgID': ['o-a1b2c3d4e5'],
          },
          ArnNotEquals: { 'aws:PrincipalArn': [role] },
        },
      },
      {
        // With allowDeployingAccount false, the organisation must not let the deploying account in.
        Sid: 'DenyDeployingAccountUnlessNamed',
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Action: 'execute-api:Invoke',
        Resource: 'execute-api:/*',
        Condition: {
          StringEquals: { 'aws:PrincipalAccount': { Ref: 'AWS::AccountId' } },
          ArnNotEquals: { 'aws:PrincipalArn': [role] },
        },
      },
    ]);
  });

  it('PRIVATE: endpoint type PRIVATE with the VPC endpoints, and the policy pins aws:SourceVpce', () => {
    const endpoints = ['vpce-0123456789abcdef0', 'vpce-0fedcba9876543210'];
    const { template } = synth({ api: { endpointType: 'PRIVATE', vpcEndpointIds: endpoints } });

    template.hasResourceProperties('AWS::ApiGateway::RestApi', {
      EndpointConfiguration: { Types: ['PRIVATE'], VpcEndpointIds: endpoints },
    });
    expect(resourcePolicy(template)).toContainEqual({
      Sid: 'DenyOutsideListedVpcEndpoints',
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Action: 'execute-api:Invoke',
      Resource: 'execute-api:/*',
      Condition: { StringNotEquals: { 'aws:SourceVpce': endpoints } },
    });
  });

  it('grantGetToken: an IAM policy on the grantee and, for a role in the stack, its ARN in the resource policy', () => {
    let roleLogicalId = '';
    const { template, stack } = synth(
      { api: { allowDeployingAccount: false, allowedAccountIds: ['444455556666'] } },
      (s) => {
        const consumer = new iam.Role(s, 'ConsumerRole', {
          assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com'),
        });
        s.tokenApi.grantGetToken(consumer);
        roleLogicalId = s.getLogicalId(consumer.node.defaultChild as iam.CfnRole);
      },
    );

    const roleArn = { 'Fn::GetAtt': [roleLogicalId, 'Arn'] };
    const policy = resourcePolicy(template);
    expect(policy.find((s) => s.Sid === 'AllowListedPrincipals')?.Principal).toEqual({ AWS: roleArn });
    expect(policy.find((s) => s.Sid === 'DenyEveryoneNotListed')?.Condition?.ArnNotEquals).toEqual({
      'aws:PrincipalArn': [roleArn],
    });
    const apiId = stack.getLogicalId(stack.tokenApi.api.node.defaultChild as iam.CfnRole);
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: roleLogicalId }],
      PolicyDocument: {
        Statement: [
          {
            Action: 'execute-api:Invoke',
            Effect: 'Allow',
            Resource: {
              'Fn::Join': [
                '',
                Match.arrayWith([':execute-api:', { Ref: apiId }, Match.stringLikeRegexp('/v1/GET/token$')]),
              ],
            },
          },
        ],
      },
    });
  });

  it('grantGetToken of an imported role (a literal ARN) lists it in the resource policy', () => {
    const arn = 'arn:aws:iam::444455556666:role/other';
    const { template } = synth(
      { api: { allowDeployingAccount: false, allowedAccountIds: ['444455556666'] } },
      (s) => {
        s.tokenApi.grantGetToken(iam.Role.fromRoleArn(s, 'Imported', arn));
      },
    );

    expect(resourcePolicy(template).find((st) => st.Sid === 'AllowListedPrincipals')?.Principal).toEqual({
      AWS: arn,
    });
  });

  it('grantGetToken of a role in another stack, without account delegation, fails with how to fix', () => {
    expect(() =>
      synth({ api: { allowDeployingAccount: false, allowedAccountIds: ['444455556666'] } }, (s) => {
        const other = new Stack(s.node.scope as App, 'ConsumerStack');
        s.tokenApi.grantGetToken(
          new iam.Role(other, 'Consumer', { assumedBy: new iam.AccountRootPrincipal() }),
        );
      }),
    ).toThrow(/list its ARN in api.allowedPrincipalArns/);
  });
});

describe('TokenApi — stage', () => {
  it('throttling from config, data tracing off, error-level execution logs, X-Ray on', () => {
    const { template } = synth({ api: { throttlingRateLimit: 7, throttlingBurstLimit: 9 } });

    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: 'v1',
      TracingEnabled: true,
      MethodSettings: [
        {
          HttpMethod: '*',
          ResourcePath: '/*',
          ThrottlingRateLimit: 7,
          ThrottlingBurstLimit: 9,
          DataTraceEnabled: false,
          LoggingLevel: 'ERROR',
          MetricsEnabled: true,
        },
      ],
    });
  });

  it('JSON access logs with the caller ARN and account, never a body, to an encrypted log group with retention', () => {
    const stage = Object.values(defaultStage.template.findResources('AWS::ApiGateway::Stage'))[0];
    const setting = stage?.Properties.AccessLogSetting as { Format: string; DestinationArn: unknown };
    // Numeric fields are unquoted; with sample values substituted the record is JSON.
    const record = JSON.parse(
      setting.Format.replace(/\$context\.[A-Za-z.]+/g, (v) => (/:\$context/.test(v) ? v : '1')),
    );
    expect(record.caller).toBe('1');
    expect(setting.Format).toContain(`"caller":"${ACCESS_LOG_FIELDS.caller}"`);
    expect(setting.Format).toContain(`"callerAccount":"${ACCESS_LOG_FIELDS.callerAccount}"`);
    expect(setting.Format).not.toMatch(
      /\$input|body|responseOverride|authorizer\.claims|\$context\.identity\.accessKey/i,
    );

    const [logGroupId] = Object.entries(defaultStage.template.findResources('AWS::Logs::LogGroup')).find(
      ([id]) => JSON.stringify(setting.DestinationArn).includes(id),
    ) ?? [undefined];
    expect(logGroupId).toBeDefined();
    const accessLogGroup = defaultStage.template.findResources('AWS::Logs::LogGroup')[logGroupId as string];
    expect(accessLogGroup?.Properties).toMatchObject({
      KmsKeyId: { 'Fn::GetAtt': [expect.stringMatching(/^BrokerKey/), 'Arn'] },
      RetentionInDays: 90,
    });
  });

  it('the execution log group is created by the stack (encrypted, retention) before the stage', () => {
    const groups = defaultStage.template.findResources('AWS::Logs::LogGroup', {
      Properties: { LogGroupName: { 'Fn::Join': ['', Match.arrayWith(['API-Gateway-Execution-Logs_'])] } },
    });
    const [id, group] = Object.entries(groups)[0] ?? [];
    expect(group?.Properties).toMatchObject({
      KmsKeyId: { 'Fn::GetAtt': [expect.stringMatching(/^BrokerKey/), 'Arn'] },
      RetentionInDays: 90,
    });
    const stage = Object.values(defaultStage.template.findResources('AWS::ApiGateway::Stage'))[0];
    expect(stage?.DependsOn).toContain(id);
  });

  it('API Gateway error responses also carry no-store', () => {
    for (const type of ['DEFAULT_4XX', 'DEFAULT_5XX']) {
      defaultStage.template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
        ResponseType: type,
        ResponseParameters: {
          'gatewayresponse.header.Cache-Control': "'no-store'",
          'gatewayresponse.header.Pragma': "'no-cache'",
        },
      });
    }
  });

  it('a configured web ACL is associated with the stage', () => {
    const webAclArn = 'arn:aws:wafv2:eu-west-2:111122223333:regional/webacl/token-api/abcd-1234';
    const { template } = synth({ api: { webAclArn } });

    template.hasResourceProperties('AWS::WAFv2::WebACLAssociation', { WebACLArn: webAclArn });
  });

  it('by default no account-wide role or setting in the stack; createAccountLoggingRole true: one, retained', () => {
    const { template } = synth({ api: { createAccountLoggingRole: true } });
    const withRole = template.findResources('AWS::ApiGateway::Account');

    expect(defaultStage.template.findResources('AWS::ApiGateway::Account')).toEqual({});
    expect(Object.keys(withRole)).toHaveLength(1);
    expect(Object.values(withRole)[0]?.DeletionPolicy).toBe('Retain');
  });
});

describe('serve-token function and role', () => {
  const template = defaultStage.template;
  const stack = defaultStage.stack;
  const serveRoleId = stack.getLogicalId(stack.serveToken.handler.role.node.defaultChild as iam.CfnRole);

  function serveStatements(): { Action: string | string[]; Resource: unknown; Sid?: string }[] {
    const policies = Object.values(
      template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: serveRoleId }] } }),
    );
    expect(policies).toHaveLength(1);
    return (policies[0]?.Properties.PolicyDocument as { Statement: [] } | undefined)?.Statement ?? [];
  }

  it('has no Secrets Manager permission at all, and is not excepted from the secret deny', () => {
    const actions = serveStatements().flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));
    expect(actions.filter((a) => a.startsWith('secretsmanager:'))).toEqual([]);
    const secretPolicies = Object.values(template.findResources('AWS::SecretsManager::ResourcePolicy'));
    expect(secretPolicies).toHaveLength(1);
    expect(JSON.stringify(secretPolicies[0])).not.toContain(serveRoleId);
    expect(JSON.stringify(secretPolicies[0])).toContain('secretsmanager:GetSecretValue');
  });

  it('may read (not write) the token cache, and invoke mint-token (unqualified) and nothing else', () => {
    const statements = serveStatements();
    const mintId = stack.getLogicalId(stack.mintToken.handler.function.node.defaultChild as iam.CfnRole);
    expect(statements.find((s) => s.Sid === 'InvokeMintToken')).toEqual({
      Sid: 'InvokeMintToken',
      Effect: 'Allow',
      Action: 'lambda:InvokeFunction',
      Resource: { 'Fn::GetAtt': [mintId, 'Arn'] },
    });
    expect(statements.find((s) => s.Sid === 'ReadCachedToken')?.Action).toBe('dynamodb:GetItem');
    const actions = statements.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action])).sort();
    expect(actions).toEqual(
      [
        'dynamodb:GetItem',
        'kms:Decrypt',
        'kms:Decrypt',
        'kms:DescribeKey',
        'kms:Encrypt',
        'kms:GenerateDataKey',
        'lambda:InvokeFunction',
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        'xray:PutTelemetryRecords',
        'xray:PutTraceSegments',
      ].sort(),
    );
  });

  it('its environment names the table, key, mint-token function and settings — no secret', () => {
    const fn = Object.values(
      template.findResources('AWS::Lambda::Function', {
        Properties: { Role: { 'Fn::GetAtt': [serveRoleId, 'Arn'] } },
      }),
    )[0];
    const env =
      (fn?.Properties.Environment as { Variables: Record<string, unknown> } | undefined)?.Variables ?? {};
    expect(Object.keys(env).sort()).toEqual(
      [
        'MINT_TOKEN_FUNCTION_NAME',
        'POWERTOOLS_SERVICE_NAME',
        'SERVE_SETTINGS',
        'TOKEN_API_ID',
        'TOKEN_API_STAGE',
        'TOKEN_KEY_ARN',
        'TOKEN_TABLE_NAME',
      ].sort(),
    );
    expect(JSON.parse(env.SERVE_SETTINGS as string)).toEqual({
      defaultMinTtlSeconds: 60,
      maxMinTtlSeconds: 900,
      l1MaxAgeSeconds: 30,
      requestBudgetMs: 4_000,
      retryAfterSeconds: 5,
      mintThrottleBackoffBaseMs: 100,
      mintThrottleBackoffCapMs: 1_000,
    });
    // Timeout covers the request budget and stays under API Gateway's 29 s integration limit.
    expect(fn?.Properties.Timeout).toBe(7);
  });

  it('API Gateway may invoke it for GET /token only', () => {
    const permissions = Object.values(template.findResources('AWS::Lambda::Permission')).filter((p) =>
      JSON.stringify(p.Properties.FunctionName).includes('ServeToken'),
    );
    expect(permissions).toHaveLength(1);
    expect(permissions[0]?.Properties.Principal).toBe('apigateway.amazonaws.com');
    expect(JSON.stringify(permissions[0]?.Properties.SourceArn)).toMatch(/"\/GET\/token"\]\]\}$/);
  });
});

describe('stack outputs and cdk-nag', () => {
  it('exposes the API URL, token endpoint, invoke ARN, log group and serve-token function', () => {
    const outputs = Object.keys(defaultStage.template.findOutputs('*'));
    for (const key of [
      StackOutput.ApiId,
      StackOutput.ApiUrl,
      StackOutput.TokenEndpoint,
      StackOutput.TokenInvokeArn,
      StackOutput.ApiAccessLogGroupName,
      StackOutput.ServeTokenFunctionName,
      StackOutput.ServeTokenFunctionArn,
    ]) {
      expect(outputs).toContain(key);
    }
  });

  it.each([
    ['the default stage', () => defaultStage.app],
    [
      'a PRIVATE stage with listed principals, a web ACL and no logging role',
      () =>
        synth({
          api: {
            endpointType: 'PRIVATE',
            vpcEndpointIds: ['vpce-0123456789abcdef0'],
            allowedPrincipalArns: ['arn:aws:iam::111122223333:role/orders-service'],
            webAclArn: 'arn:aws:wafv2:eu-west-2:111122223333:regional/webacl/token-api/abcd-1234',
            createAccountLoggingRole: false,
          },
        }).app,
    ],
  ])('%s has no unacknowledged AwsSolutions or Serverless findings', (_label, app) => {
    expect(nagViolations(app())).toEqual([]);
  });
});
