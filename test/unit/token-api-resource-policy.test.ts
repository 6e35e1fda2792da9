import { Stack } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { apiSchema } from '../../lib/config/schema';
import { TokenApiResourcePolicy } from '../../lib/constructs/token-api-resource-policy';

/**
 * The token API's resource policy, built from the api config alone (no API, no synthesis): which
 * statements exist, in which order, and what a later allowPrincipal changes. Who-can-do-what over
 * the synthesized policies is the access matrix's job (test/infra/access-matrix.test.ts).
 */

interface Statement {
  Sid: string;
  Effect: string;
  Principal?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

const ROLE = 'arn:aws:iam::111122223333:role/helpline-service';
const LATER = 'arn:aws:iam::111122223333:role/granted-later';

function statementsOf(policy: TokenApiResourcePolicy): Statement[] {
  const resolved = new Stack().resolve(policy.document.toJSON()) as { Statement: Statement[] };
  return resolved.Statement;
}
const sids = (policy: TokenApiResourcePolicy) => statementsOf(policy).map((s) => s.Sid);
const deny = (policy: TokenApiResourcePolicy) =>
  statementsOf(policy).find((s) => s.Sid === 'DenyEveryoneNotListed') as Statement;

describe('TokenApiResourcePolicy', () => {
  it('by default: the deploying account (IAM grant still needed) and a Deny for every other account', () => {
    const policy = new TokenApiResourcePolicy(apiSchema.parse({}));
    expect(sids(policy)).toEqual(['AllowDeployingAccountPrincipalsWithIamGrant', 'DenyEveryoneNotListed']);
    expect(deny(policy).Effect).toBe('Deny');
    expect(Object.keys(deny(policy).Condition ?? {})).toEqual(['StringNotEquals']);
    expect(policy.allowsNobody()).toBe(false);
  });

  it('a listed principal is allowed and excepted from the Deny', () => {
    const policy = new TokenApiResourcePolicy(apiSchema.parse({ allowedPrincipalArns: [ROLE] }));
    expect(sids(policy)).toContain('AllowListedPrincipals');
    expect(deny(policy).Condition?.ArnNotEquals).toEqual({ 'aws:PrincipalArn': [ROLE] });
  });

  it('allowPrincipal after the build adds the allow once and widens the Deny exception', () => {
    const policy = new TokenApiResourcePolicy(apiSchema.parse({}));
    expect(deny(policy).Condition?.ArnNotEquals).toBeUndefined();
    policy.allowPrincipal(ROLE);
    policy.allowPrincipal(LATER);
    expect(sids(policy).filter((s) => s === 'AllowListedPrincipals')).toHaveLength(1);
    expect(deny(policy).Condition?.ArnNotEquals).toEqual({ 'aws:PrincipalArn': [ROLE, LATER] });
  });

  it('organisations without the deploying account: the deploying account is denied unless named', () => {
    const policy = new TokenApiResourcePolicy(
      apiSchema.parse({ allowDeployingAccount: false, allowedOrganizationIds: ['o-abcdefghij'] }),
    );
    expect(sids(policy)).toEqual([
      'AllowListedOrganizations',
      'DenyEveryoneNotListed',
      'DenyDeployingAccountUnlessNamed',
    ]);
    policy.allowPrincipal(ROLE);
    const unlessNamed = statementsOf(policy).find((s) => s.Sid === 'DenyDeployingAccountUnlessNamed');
    expect(unlessNamed?.Condition?.ArnNotEquals).toEqual({ 'aws:PrincipalArn': [ROLE] });
  });

  it('a PRIVATE endpoint also denies calls from outside the listed VPC endpoints', () => {
    const policy = new TokenApiResourcePolicy(
      apiSchema.parse({ endpointType: 'PRIVATE', vpcEndpointIds: ['vpce-0123456789abcdef0'] }),
    );
    const vpce = statementsOf(policy).find((s) => s.Sid === 'DenyOutsideListedVpcEndpoints');
    expect(vpce?.Condition?.StringNotEquals).toEqual({ 'aws:SourceVpce': ['vpce-0123456789abcdef0'] });
  });

  it('allows nobody when the deploying account is off and nothing is listed, until a principal is allowed', () => {
    // The schema refuses this config; a construct user can still reach it through grants alone.
    const config = { ...apiSchema.parse({}), allowDeployingAccount: false };
    const policy = new TokenApiResourcePolicy(config);
    expect(policy.allowsNobody()).toBe(true);
    policy.allowPrincipal(ROLE);
    expect(policy.allowsNobody()).toBe(false);
  });
});
