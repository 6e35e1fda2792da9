import { FAKE_ENV } from './cfn-resolve';

/**
 * CloudTrail events as EventBridge delivers them (envelope + CloudTrail record in `detail`), shaped
 * like the records CloudTrail writes for Secrets Manager: userIdentity per principal type,
 * requestParameters.secretId as the caller passed it, errorCode when the call was denied.
 */

export type UserIdentity = Record<string, unknown>;

export const identity = {
  /** A role session (Lambda function, SSO user, EC2 instance…): CloudTrail names the role as session issuer. */
  assumedRole(roleArn: string, session = 'session-1'): UserIdentity {
    const [, , , , account, resource] = roleArn.split(':');
    const roleName = (resource ?? '').split('/').at(-1);
    return {
      type: 'AssumedRole',
      principalId: `AROAEXAMPLE:${session}`,
      arn: `arn:aws:sts::${account}:assumed-role/${roleName}/${session}`,
      accountId: account,
      accessKeyId: 'ASIAEXAMPLE',
      sessionContext: {
        sessionIssuer: {
          type: 'Role',
          principalId: 'AROAEXAMPLE',
          arn: roleArn,
          accountId: account,
          userName: roleName,
        },
        attributes: { creationDate: '2026-01-01T00:00:00Z', mfaAuthenticated: 'false' },
      },
    };
  },
  iamUser(name: string): UserIdentity {
    return {
      type: 'IAMUser',
      principalId: 'AIDAEXAMPLE',
      arn: `arn:aws:iam::${FAKE_ENV.accountId}:user/${name}`,
      accountId: FAKE_ENV.accountId,
      accessKeyId: 'AKIAEXAMPLE',
      userName: name,
    };
  },
  root(): UserIdentity {
    return {
      type: 'Root',
      principalId: FAKE_ENV.accountId,
      arn: `arn:aws:iam::${FAKE_ENV.accountId}:root`,
      accountId: FAKE_ENV.accountId,
    };
  },
};

function envelope(detailType: string, detail: Record<string, unknown>) {
  return {
    version: '0',
    id: '6a7e8feb-b491-4cf7-a9f1-bf3703467718',
    'detail-type': detailType,
    source: 'aws.secretsmanager',
    account: FAKE_ENV.accountId,
    time: '2026-01-02T03:04:05Z',
    region: FAKE_ENV.region,
    resources: [],
    detail,
  };
}

export function getSecretValueEvent(options: {
  readonly secretId: string;
  readonly userIdentity: UserIdentity;
  readonly errorCode?: string;
  readonly eventName?: string;
}) {
  return envelope('AWS API Call via CloudTrail', {
    eventVersion: '1.09',
    userIdentity: options.userIdentity,
    eventTime: '2026-01-02T03:04:05Z',
    eventSource: 'secretsmanager.amazonaws.com',
    eventName: options.eventName ?? 'GetSecretValue',
    awsRegion: FAKE_ENV.region,
    sourceIPAddress: '203.0.113.9',
    userAgent: 'aws-cli/2.15.0',
    requestParameters: { secretId: options.secretId },
    responseElements: null,
    ...(options.errorCode
      ? {
          errorCode: options.errorCode,
          errorMessage: 'User is not authorized to perform: secretsmanager:GetSecretValue',
        }
      : {}),
    requestID: 'e5f2b6c1-0000-4000-8000-000000000000',
    eventID: '0b5b9f9e-0000-4000-8000-000000000000',
    readOnly: true,
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: FAKE_ENV.accountId,
    eventCategory: 'Management',
  });
}

export function rotationServiceEvent(eventName: string, secretArn: string) {
  return envelope('AWS Service Event via CloudTrail', {
    eventVersion: '1.09',
    userIdentity: { accountId: FAKE_ENV.accountId, invokedBy: 'secretsmanager.amazonaws.com' },
    eventTime: '2026-01-02T03:04:05Z',
    eventSource: 'secretsmanager.amazonaws.com',
    eventName,
    awsRegion: FAKE_ENV.region,
    sourceIPAddress: 'secretsmanager.amazonaws.com',
    userAgent: 'secretsmanager.amazonaws.com',
    requestParameters: null,
    responseElements: null,
    additionalEventData: { SecretId: secretArn },
    readOnly: false,
    eventType: 'AwsServiceEvent',
    managementEvent: true,
    recipientAccountId: FAKE_ENV.accountId,
    eventCategory: 'Management',
  });
}
