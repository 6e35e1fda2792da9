import type { CfnElement } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { CLOUDFORMATION_SOURCE } from '../../lib/constructs/monitoring/secret-audit-rules';
import { FAKE_ENV, resolveCfn } from '../kit/builders/cfn-resolve';
import { identity, type UserIdentity } from '../kit/builders/cloudtrail-events';
import { matchesEventPattern } from '../kit/builders/event-pattern-matcher';
import { synthBroker } from '../kit/builders/synth';

/**
 * The CredentialReaderChanged rule against CloudTrail events shaped like Lambda's: a change to
 * mint-token's or rotate-credentials' code or configuration, or a function created or reconfigured
 * with their roles, pages — unless CloudFormation made the call.
 */
const { stack, template } = synthBroker('credential-reader-rule');
const id = (construct: { node: { defaultChild?: unknown } }) =>
  stack.getLogicalId(construct.node.defaultChild as CfnElement);
const rule = template.Resources[id(stack.monitoring.secretAudit.readerFunctionChanged)];
const pattern = resolveCfn(rule?.Properties?.EventPattern, template.Resources);
const resolved = (value: unknown) => resolveCfn(value, template.Resources) as string;
const mint = {
  name: resolved({ Ref: id(stack.mintToken.handler.function) }),
  arn: resolved({ 'Fn::GetAtt': [id(stack.mintToken.handler.function), 'Arn'] }),
  role: resolved({ 'Fn::GetAtt': [id(stack.mintToken.handler.role), 'Arn'] }),
};
const rotateRole = resolved({ 'Fn::GetAtt': [id(stack.credentialRotation.handler.role), 'Arn'] });
const serveName = resolved({ Ref: id(stack.serveToken.handler.function) });
const admin = identity.assumedRole(`arn:aws:iam::${FAKE_ENV.accountId}:role/Admin`);

/** A Lambda management event as EventBridge delivers it (CloudTrail record in `detail`). */
function lambdaEvent(
  eventName: string,
  requestParameters: Record<string, unknown>,
  userIdentity: UserIdentity = admin,
  sourceIPAddress = '203.0.113.7',
) {
  return {
    version: '0',
    id: '0d4a7e3a-1d4c-4c39-9f0b-1a2b3c4d5e6f',
    'detail-type': 'AWS API Call via CloudTrail',
    source: 'aws.lambda',
    account: FAKE_ENV.accountId,
    time: '2026-01-02T03:04:05Z',
    region: FAKE_ENV.region,
    resources: [],
    detail: {
      eventVersion: '1.09',
      userIdentity,
      eventTime: '2026-01-02T03:04:05Z',
      eventSource: 'lambda.amazonaws.com',
      eventName,
      awsRegion: FAKE_ENV.region,
      sourceIPAddress,
      userAgent: 'aws-cli/2.15.0',
      requestParameters,
      responseElements: null,
      eventType: 'AwsApiCall',
      managementEvent: true,
      recipientAccountId: FAKE_ENV.accountId,
    },
  };
}

describe('CredentialReaderChanged (EventBridge pattern)', () => {
  it('is a PAGE with the runbook', () => {
    expect(String(rule?.Properties?.Description)).toMatch(/^\[PAGE\] .* CredentialReaderChanged:/);
    expect(JSON.stringify(rule?.Properties?.Targets)).toContain('credential-reader-changed.md');
  });

  it.each([
    [
      'new code for mint-token (by name)',
      lambdaEvent('UpdateFunctionCode20150331v2', { functionName: mint.name }),
    ],
    [
      'new code for mint-token (by ARN)',
      lambdaEvent('UpdateFunctionCode20150331v2', { functionName: mint.arn }),
    ],
    [
      "mint-token's configuration",
      lambdaEvent('UpdateFunctionConfiguration20150331v2', { functionName: mint.name, handler: 'x.handler' }),
    ],
    [
      'a new function with the rotate role (what PassRole looks like in CloudTrail)',
      lambdaEvent('CreateFunction20150331', { functionName: 'borrower', role: rotateRole }),
    ],
    [
      'another function reconfigured to the mint role',
      lambdaEvent('UpdateFunctionConfiguration20150331v2', { functionName: 'other', role: mint.role }),
    ],
    [
      'a denied attempt (errorCode set)',
      (() => {
        const event = lambdaEvent('UpdateFunctionCode20150331v2', { functionName: mint.name });
        return { ...event, detail: { ...event.detail, errorCode: 'AccessDenied' } };
      })(),
    ],
  ])('matches %s', (_, event) => {
    expect(matchesEventPattern(pattern, event)).toBe(true);
  });

  it.each([
    [
      'the same change made by a CloudFormation deployment',
      lambdaEvent(
        'UpdateFunctionCode20150331v2',
        { functionName: mint.name },
        identity.assumedRole(`arn:aws:iam::${FAKE_ENV.accountId}:role/cdk-hnb659fds-cfn-exec-role`),
        CLOUDFORMATION_SOURCE,
      ),
    ],
    [
      'new code for serve-token (cannot read the secret)',
      lambdaEvent('UpdateFunctionCode20150331v2', { functionName: serveName }),
    ],
    [
      'a new function with another role',
      lambdaEvent('CreateFunction20150331', {
        functionName: 'x',
        role: 'arn:aws:iam::111122223333:role/other',
      }),
    ],
    ['an invocation of mint-token', lambdaEvent('Invoke', { functionName: mint.name })],
  ])('does not match %s', (_, event) => {
    expect(matchesEventPattern(pattern, event)).toBe(false);
  });
});
