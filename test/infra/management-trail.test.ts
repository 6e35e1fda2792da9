import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { nagFindings, resourcesOfType, synthBroker, synthBrokerForAssertions } from '../kit/builders/synth';

/** The opt-in management-event trail, and the secret policy's replication deny. */
describe('monitoring.createManagementTrail', () => {
  it('is off by default: no trail, no bucket', () => {
    const { template } = synthBroker('trail-default');
    expect(resourcesOfType(template, 'AWS::CloudTrail::Trail')).toHaveLength(0);
    expect(resourcesOfType(template, 'AWS::S3::Bucket')).toHaveLength(0);
  });

  it.each([
    ['retain', 'Retain'],
    ['destroy', 'Delete'],
  ])(
    'creates a logging, validated, management-event trail into an encrypted private bucket (removalPolicy %s)',
    (removalPolicy, deletion) => {
      const { app, template } = synthBrokerForAssertions(`trail-${removalPolicy}`, {
        stage: { removalPolicy, monitoring: { createManagementTrail: true } },
      });
      template.hasResourceProperties('AWS::CloudTrail::Trail', {
        IsLogging: true,
        IsMultiRegionTrail: false,
        EnableLogFileValidation: true,
        EventSelectors: [{ IncludeManagementEvents: true, ReadWriteType: 'All' }],
      });
      template.hasResource('AWS::S3::Bucket', {
        DeletionPolicy: deletion,
        Properties: Match.objectLike({
          BucketEncryption: {
            ServerSideEncryptionConfiguration: [
              { ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } },
            ],
          },
          PublicAccessBlockConfiguration: {
            BlockPublicAcls: true,
            BlockPublicPolicy: true,
            IgnorePublicAcls: true,
            RestrictPublicBuckets: true,
          },
        }),
      });
      expect(nagFindings(app)).toEqual([]);
    },
  );
});

describe('credentials secret policy', () => {
  it('denies replication to other regions to every principal', () => {
    const { template } = synthBrokerForAssertions('deny-replication');
    template.hasResourceProperties('AWS::SecretsManager::ResourcePolicy', {
      ResourcePolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Sid: 'DenyReplicationToOtherRegions',
            Effect: 'Deny',
            Principal: { AWS: '*' },
            Action: 'secretsmanager:ReplicateSecretToRegions',
          }),
        ]),
      },
    });
  });

  it("binds the broker roles' reads to their own functions (lambda:SourceFunctionArn)", () => {
    const { template } = synthBrokerForAssertions('source-function-arn');
    const denies = template.findResources('AWS::IAM::Policy', {
      Properties: {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Sid: 'DenyCredentialsReadFromOtherFunctions',
              Effect: 'Deny',
              Action: Match.arrayWith(['secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue']),
              Condition: { ArnNotLike: { 'lambda:SourceFunctionArn': Match.anyValue() } },
            }),
          ]),
        },
      },
    });
    expect(Object.keys(denies)).toHaveLength(2);
  });
});
