import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { EnvVar } from '../../contract/env-vars';
import { TTL_ATTRIBUTE } from '../../contract/token-cache-schema';
import { CREDENTIALS_SECRET_PROPERTIES } from '../../lib/constructs/credential-store';
import { nagFindings, synthBrokerForAssertions } from '../kit/builders/synth';

let broker: ReturnType<typeof synthBrokerForAssertions>;
let template: Template;

beforeAll(() => {
  broker = synthBrokerForAssertions('foundation');
  template = broker.template;
});

const logicalId = (type: string, pathPart: string): string => {
  const ids = Object.entries(template.findResources(type)).filter(([, r]) =>
    JSON.stringify(r.Metadata ?? {}).includes(pathPart),
  );
  if (ids.length === 0) {
    // Path metadata is off in tests; fall back to the logical id prefix CDK derives from the path.
    const byId = Object.keys(template.findResources(type)).filter((id) =>
      id.startsWith(pathPart.replace(/\//g, '')),
    );
    if (byId.length !== 1) throw new Error(`expected one ${type} for ${pathPart}, found ${byId.join(', ')}`);
    return byId[0] as string;
  }
  return ids[0]?.[0] as string;
};

describe('broker key', () => {
  it('is a customer-managed key with rotation on; the on-call topic has a key of its own', () => {
    // Two keys: the broker key (secret, table, tokens, logs) and the on-call topic's, which CloudWatch
    // and EventBridge must be granted in its key policy (lib/constructs/on-call-topic.ts).
    template.resourceCountIs('AWS::KMS::Key', 2);
    expect(
      Object.values(template.findResources('AWS::KMS::Key')).map((k) => k.Properties.EnableKeyRotation),
    ).toEqual([true, true]);
    const brokerKeyPolicy = JSON.stringify(
      template.findResources('AWS::KMS::Key')[logicalId('AWS::KMS::Key', 'BrokerKey')]?.Properties.KeyPolicy,
    );
    expect(brokerKeyPolicy).not.toMatch(/cloudwatch\.amazonaws|events\.amazonaws/);
  });
});

describe('credentials secret', () => {
  it('is encrypted with the broker key and carries no value in the template', () => {
    const keyId = logicalId('AWS::KMS::Key', 'BrokerKey');
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      KmsKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] },
      SecretString: Match.absent(),
      GenerateSecretString: Match.absent(),
    });
  });

  it('defines no value at all, so no stack update can ever write a credential value', () => {
    // CloudFormation: "If you omit both GenerateSecretString and SecretString, you create an empty
    // secret. When you make a change to this property, a new secret version is created." A value in the
    // template — generated or literal — means a later release that touches it makes `cdk deploy` write a
    // new AWSCURRENT over the operator's real credentials. Any property outside this list is refused.
    const [secret] = Object.values(template.findResources('AWS::SecretsManager::Secret'));
    const properties = Object.keys(secret?.Properties ?? {});
    const unexpected = properties.filter((p) => !CREDENTIALS_SECRET_PROPERTIES.includes(p));
    expect(
      unexpected,
      `The credentials secret must not define a value (found ${unexpected.join(', ')}): a change to a value definition makes a stack update write a new AWSCURRENT over the real credentials. Operators put values in with \`credentials set\` / \`credentials rotate\`.`,
    ).toEqual([]);
    expect(JSON.stringify(secret)).not.toMatch(/SecretString|throughline_broker_placeholder/);
  });

  it('denies reading its value to every principal except the mint and rotate roles, and only reading', () => {
    const mintRole = logicalId('AWS::IAM::Role', 'MintTokenHandlerRole');
    const rotateRole = logicalId('AWS::IAM::Role', 'RotateCredentialsHandlerRole');
    template.hasResourceProperties('AWS::SecretsManager::ResourcePolicy', {
      ResourcePolicy: {
        Statement: [
          {
            Effect: 'Deny',
            Principal: { AWS: '*' },
            Action: 'secretsmanager:GetSecretValue',
            Condition: {
              ArnNotEquals: {
                'aws:PrincipalArn': [
                  { 'Fn::GetAtt': [mintRole, 'Arn'] },
                  { 'Fn::GetAtt': [rotateRole, 'Arn'] },
                ],
              },
            },
          },
          Match.objectLike({ Sid: 'DenyReplicationToOtherRegions', Effect: 'Deny' }),
        ],
      },
    });
    // Deployments and operators putting a new value are not locked out.
    const policy = JSON.stringify(template.findResources('AWS::SecretsManager::ResourcePolicy'));
    for (const action of [
      'PutSecretValue',
      'UpdateSecret',
      'DeleteSecret',
      'PutResourcePolicy',
      'RotateSecret',
    ]) {
      expect(policy).not.toContain(action);
    }
  });
});

describe('token cache table', () => {
  it('is encrypted with the broker key, has TTL, and denies item access to all but broker roles', () => {
    const keyId = logicalId('AWS::KMS::Key', 'BrokerKey');
    const mintRole = logicalId('AWS::IAM::Role', 'MintTokenHandlerRole');
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      SSESpecification: {
        SSEEnabled: true,
        SSEType: 'KMS',
        KMSMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] },
      },
      TimeToLiveSpecification: { AttributeName: TTL_ATTRIBUTE, Enabled: true },
      ResourcePolicy: {
        PolicyDocument: {
          Statement: [
            Match.objectLike({
              Effect: 'Deny',
              Principal: { AWS: '*' },
              Action: Match.arrayWith([
                'dynamodb:DeleteItem',
                'dynamodb:GetItem',
                'dynamodb:PutItem',
                'dynamodb:Query',
                'dynamodb:Scan',
              ]),
              Condition: {
                ArnNotEquals: { 'aws:PrincipalArn': Match.arrayWith([{ 'Fn::GetAtt': [mintRole, 'Arn'] }]) },
              },
            }),
            Match.objectLike({
              Sid: 'DenyCopiesAndPolicyChangesExceptDeployment',
              Effect: 'Deny',
              Principal: { AWS: '*' },
              Action: Match.arrayWith(['dynamodb:CreateBackup', 'dynamodb:PutResourcePolicy']),
            }),
          ],
        },
      },
    });
  });
});

describe('mint-token function', () => {
  it('runs Node.js 24 on arm64 with active tracing and, by default, no reserved concurrency (deploys on a quota of 10)', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      ReservedConcurrentExecutions: Match.absent(),
      TracingConfig: { Mode: 'Active' },
      LoggingConfig: Match.objectLike({ LogFormat: 'JSON' }),
    });
  });

  it('has an operator alias on the published version: the only entry point for force, flush and overrides', () => {
    template.hasResourceProperties('AWS::Lambda::Alias', { Name: 'operator' });
  });

  it('has a timeout longer than the upstream time budget', () => {
    const fn = Object.values(template.findResources('AWS::Lambda::Function'))[0];
    const settings = JSON.parse(fn?.Properties.Environment.Variables[EnvVar.Settings]);
    expect(fn?.Properties.Timeout * 1000).toBeGreaterThan(settings.upstream.totalBudgetMs);
  });

  it('gets only ARNs, names and settings through its environment — never a credential', () => {
    const mint = Object.entries(template.findResources('AWS::Lambda::Function')).find(([id]) =>
      id.startsWith('MintToken'),
    );
    const variables = mint?.[1].Properties.Environment.Variables as Record<string, unknown>;
    expect(Object.keys(variables).sort()).toEqual(
      [
        'POWERTOOLS_SERVICE_NAME',
        EnvVar.CredentialsSecretArn,
        EnvVar.TokenKeyArn,
        EnvVar.Settings,
        EnvVar.TokenTableName,
      ].sort(),
    );
    // The secret's ARN is a reference, never a literal value.
    expect(variables[EnvVar.CredentialsSecretArn]).toEqual({
      Ref: expect.stringMatching(/^CredentialStoreCredentials/),
    });
  });

  it('no function gets a credential or token through its environment; only mint and rotate learn where the secret is', () => {
    for (const [id, fn] of Object.entries(template.findResources('AWS::Lambda::Function'))) {
      const variables = fn.Properties.Environment.Variables as Record<string, unknown>;
      const text = JSON.stringify(variables);
      expect(text).not.toMatch(/client_secret"\s*:|client_id"\s*:|access_token|"password"/i);
      if (!id.startsWith('MintToken') && !id.startsWith('RotateCredentials')) {
        expect(Object.keys(variables)).not.toContain(EnvVar.CredentialsSecretArn);
      }
    }
  });

  it('may read the secret and decrypt it only through Secrets Manager', () => {
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Sid: 'DecryptCredentialsViaSecretsManager',
            Action: 'kms:Decrypt',
            Condition: { StringEquals: Match.objectLike({ 'kms:ViaService': Match.anyValue() }) },
          }),
          Match.objectLike({
            Sid: 'EncryptAndDecryptCachedToken',
            Condition: {
              StringEquals: Match.objectLike({ 'kms:EncryptionContext:purpose': 'throughline-token-cache' }),
            },
          }),
        ]),
      },
    });
  });

  it("proxy mode: carries the proxy's quota rules and may read the quota ledger (BatchGetItem, ledger and gate keys only); without it neither", () => {
    const functions = (t: Template) => Object.entries(t.findResources('AWS::Lambda::Function'));
    const settingsOf = (t: Template, prefix: string, name: string) =>
      JSON.parse(
        functions(t).find(([id]) => id.startsWith(prefix))?.[1].Properties.Environment.Variables[name],
      );
    const ledgerRead = (t: Template) =>
      Object.entries(t.findResources('AWS::IAM::Policy')).flatMap(([id, p]) =>
        (p.Properties.PolicyDocument.Statement as { Sid?: string }[])
          .filter((st) => st.Sid === 'ReadQuotaLedgerForUsage')
          .map((st) => ({ id, st })),
      );

    const proxy = settingsOf(template, 'Proxy', EnvVar.ProxySettings);
    expect(settingsOf(template, 'MintToken', EnvVar.Settings).quota).toEqual({
      dailyQuotaCalls: proxy.dailyQuotaCalls,
      reserveCalls: proxy.reserveCalls,
      shares: proxy.shares,
    });
    const grants = ledgerRead(template);
    expect(grants.map((g) => g.id)).toEqual([expect.stringMatching(/^MintToken/)]);
    expect(grants[0]?.st).toMatchObject({
      Effect: 'Allow',
      Action: 'dynamodb:BatchGetItem',
      Condition: {
        'ForAllValues:StringLike': {
          'dynamodb:LeadingKeys': ['usage#*', 'upstream-gate', 'upstream-api-hold'],
        },
      },
    });

    const off = synthBrokerForAssertions('foundation-proxy-off', {
      stage: { proxy: { enabled: false } },
    }).template;
    expect(settingsOf(off, 'MintToken', EnvVar.Settings)).not.toHaveProperty('quota');
    expect(ledgerRead(off)).toEqual([]);
  });

  it('logs to its own KMS-encrypted log group with retention', () => {
    template.hasResourceProperties('AWS::Logs::LogGroup', {
      KmsKeyId: Match.anyValue(),
      RetentionInDays: 90,
    });
  });
});

describe('the whole template', () => {
  it('contains no literal credential or token material', () => {
    const text = JSON.stringify(template.toJSON());
    expect(text).not.toMatch(/"client_secret"\s*:\s*"[^"]/);
    expect(text).not.toMatch(/"access_token"\s*:\s*"[^"]/);
    expect(text).not.toMatch(/"SecretString"\s*:/);
  });

  it('is clean under cdk-nag AwsSolutions and Serverless with only the known acknowledgements', () => {
    expect(nagFindings(broker.app)).toEqual([]);
  });
});

describe('removal policy per stage', () => {
  it('retains the key, secret and table in prod, with table deletion protection', () => {
    const prod = synthBrokerForAssertions('foundation-prod', { context: { stage: 'prod' } }).template;
    for (const type of ['AWS::KMS::Key', 'AWS::SecretsManager::Secret', 'AWS::DynamoDB::Table']) {
      prod.hasResource(type, { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    }
    prod.hasResourceProperties('AWS::DynamoDB::Table', { DeletionProtectionEnabled: true });
  });

  it('lets a dev stage be destroyed', () => {
    template.hasResource('AWS::SecretsManager::Secret', { DeletionPolicy: 'Delete' });
  });
});
