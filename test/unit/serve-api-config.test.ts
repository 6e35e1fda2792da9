import { describe, expect, it } from 'vitest';
import { ConfigError, loadStageConfig } from '../../lib/config/load-config';

/** The `api` section of the stage config: safe defaults and errors that say how to fix. */
function load(api: unknown) {
  const context: Record<string, unknown> = {
    stage: 'test',
    stages: { test: api === undefined ? {} : { api } },
  };
  return loadStageConfig((key) => context[key]);
}

function problems(api: unknown): string[] {
  try {
    load(api);
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('api config', () => {
  it('defaults: REGIONAL, only the deploying account (with IAM grants), nothing else listed', () => {
    expect(load(undefined).config.api).toEqual({
      endpointType: 'REGIONAL',
      vpcEndpointIds: [],
      allowDeployingAccount: true,
      allowedPrincipalArns: [],
      allowedAccountIds: [],
      allowedOrganizationIds: [],
      createAccountLoggingRole: false,
      throttlingRateLimit: 20,
      throttlingBurstLimit: 40,
      l1MaxAgeSeconds: 30,
      requestBudgetMs: 4_000,
      retryAfterSeconds: 5,
      mintThrottleBackoffBaseMs: 100,
      mintThrottleBackoffCapMs: 1_000,
    });
  });

  it('accepts a full PRIVATE configuration', () => {
    const api = load({
      endpointType: 'PRIVATE',
      vpcEndpointIds: ['vpce-0123456789abcdef0'],
      allowDeployingAccount: false,
      allowedPrincipalArns: ['arn:aws:iam::111122223333:role/orders/orders-service'],
      allowedAccountIds: ['444455556666'],
      allowedOrganizationIds: ['o-a1b2c3d4e5'],
      webAclArn: 'arn:aws:wafv2:eu-west-2:111122223333:regional/webacl/token-api/abcd-1234',
    }).config.api;

    expect(api.endpointType).toBe('PRIVATE');
    expect(api.allowedPrincipalArns).toEqual(['arn:aws:iam::111122223333:role/orders/orders-service']);
  });

  it('PRIVATE without VPC endpoints says what to add', () => {
    expect(problems({ endpointType: 'PRIVATE' })).toEqual([
      'stages.test.api.vpcEndpointIds: a PRIVATE API needs at least one interface VPC endpoint (execute-api) id, e.g. ["vpce-0123456789abcdef0"], or set endpointType "REGIONAL"',
    ]);
  });

  it('an assumed-role session ARN is rejected with the role ARN to use instead', () => {
    expect(problems({ allowedPrincipalArns: ['arn:aws:sts::111122223333:assumed-role/orders/i-1'] })).toEqual(
      [
        'stages.test.api.allowedPrincipalArns.0: is an assumed-role session ARN; list the role itself instead: arn:aws:iam::<account>:role/<name>',
      ],
    );
  });

  it('reports every problem at once', () => {
    const found = problems({
      endpointType: 'REGIONAL',
      vpcEndpointIds: ['vpce-0123456789abcdef0'],
      allowedAccountIds: ['12345', '444455556666', '444455556666'],
      allowedPrincipalArns: ['arn:aws:iam::111122223333:role/*'],
      allowedOrganizationIds: ['org-1'],
      throttlingRateLimit: 0,
      l1MaxAgeSeconds: 3_600,
      requestBudgetMs: 29_000,
      publicAccess: true,
    });

    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/api\.allowedAccountIds\.0: must be a 12-digit AWS account id/),
        expect.stringMatching(/api\.allowedPrincipalArns\.0: must be an IAM role or user ARN .*no wildcards/),
        expect.stringMatching(/api\.allowedOrganizationIds\.0: must be an AWS Organizations id/),
        expect.stringMatching(/api\.throttlingRateLimit: must be at least 1/),
        expect.stringMatching(/api\.l1MaxAgeSeconds: must be at most 300 seconds/),
        expect.stringMatching(/api\.requestBudgetMs: must be at most 25000 ms/),
        expect.stringMatching(/api: unknown key \(publicAccess\)/),
      ]),
    );
  });

  it('cross-field rules: REGIONAL with endpoints, nobody allowed, duplicates, burst below rate', () => {
    // Field-level problems stop the cross-field checks, so these come with otherwise valid values.
    expect(problems({ vpcEndpointIds: ['vpce-0123456789abcdef0'] })).toEqual([
      'stages.test.api.vpcEndpointIds: VPC endpoint ids only apply to a PRIVATE API: set api.endpointType to "PRIVATE" or remove them',
    ]);
    expect(problems({ allowDeployingAccount: false })).toEqual([
      'stages.test.api.allowDeployingAccount: with allowDeployingAccount false nobody could call the API: list allowedPrincipalArns, allowedAccountIds or allowedOrganizationIds, or set it to true',
    ]);
    expect(problems({ allowedAccountIds: ['444455556666', '444455556666'] })).toEqual([
      'stages.test.api.allowedAccountIds: lists 444455556666 more than once; list each once',
    ]);
    expect(problems({ throttlingRateLimit: 100, throttlingBurstLimit: 10 })).toEqual([
      'stages.test.api.throttlingBurstLimit: must be at least api.throttlingRateLimit',
    ]);
  });
});
