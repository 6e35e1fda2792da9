import { Aws, Lazy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { PROXY_METHODS, PROXY_PATH } from '../../contract/proxy-api';
import type { ApiConfig } from '../config/schema';

/** The one method consumers call; part of the resource-policy resources and of the invoke ARN. */
export const TOKEN_PATH = 'token';
export const INVOKE = 'execute-api:Invoke';
/** Resource-policy shorthand that API Gateway expands to this API's ARNs. */
const TOKEN_METHOD_RESOURCE = `execute-api:/*/GET/${TOKEN_PATH}`;
/** Proxy mode's methods (contract/proxy-api.ts): every path below /throughline/. */
export const PROXY_METHOD_RESOURCES = PROXY_METHODS.map(
  (method) => `execute-api:/*/${method}/${PROXY_PATH}/*`,
);
const ANY_METHOD_RESOURCE = 'execute-api:/*';

/**
 * The token API's resource policy, from the api config: allows for the deploying account (when on),
 * the listed accounts, principals and organisations, each still needing an IAM grant; an explicit
 * Deny for everyone not listed; for PRIVATE endpoints, a Deny outside the listed VPC endpoints.
 * Principals granted later (TokenApi.grantGetToken) join the allow-list and the Deny's exception
 * through `allowPrincipal`, which is the only way the document changes after it is built.
 */
export class TokenApiResourcePolicy {
  readonly document = new iam.PolicyDocument();
  /** Principals named in the policy: configured ones and those allowed later. */
  private readonly listedPrincipalArns: string[];
  private readonly allowListedPrincipals: iam.PolicyStatement;
  /** Every Allow statement: the proxy route joins each of them (allowProxyRoute). */
  private readonly allows: iam.PolicyStatement[] = [];

  constructor(private readonly config: ApiConfig) {
    this.listedPrincipalArns = [...config.allowedPrincipalArns];
    this.allowListedPrincipals = new iam.PolicyStatement({
      sid: 'AllowListedPrincipals',
      actions: [INVOKE],
      resources: [TOKEN_METHOD_RESOURCE],
      principals: config.allowedPrincipalArns.map((arn) => new iam.ArnPrincipal(arn)),
    });
    this.allows.push(this.allowListedPrincipals);
    this.build();
  }

  /** Whoever may call GET /token may call the proxy route too: both spend the same quota. */
  allowProxyRoute(): void {
    for (const statement of this.allows) statement.addResources(...PROXY_METHOD_RESOURCES);
  }

  /** Names `arn` in the allow-list (and so in the Deny's exception). */
  allowPrincipal(arn: string): void {
    // A statement needs at least one principal: it joins the policy with the first one.
    if (this.listedPrincipalArns.length === 0) this.document.addStatements(this.allowListedPrincipals);
    this.listedPrincipalArns.push(arn);
    this.allowListedPrincipals.addPrincipals(new iam.ArnPrincipal(arn));
  }

  /** True when nobody could call the API (no account, principal or organisation allowed). */
  allowsNobody(): boolean {
    const { config } = this;
    return (
      !config.allowDeployingAccount &&
      this.listedPrincipalArns.length +
        config.allowedAccountIds.length +
        config.allowedOrganizationIds.length ===
        0
    );
  }

  private allow(props: iam.PolicyStatementProps): iam.PolicyStatement {
    const statement = new iam.PolicyStatement(props);
    this.allows.push(statement);
    return statement;
  }

  private build(): void {
    const { config } = this;
    const document = this.document;
    if (config.allowDeployingAccount) {
      document.addStatements(
        this.allow({
          sid: 'AllowDeployingAccountPrincipalsWithIamGrant',
          actions: [INVOKE],
          resources: [TOKEN_METHOD_RESOURCE],
          principals: [new iam.AccountPrincipal(Aws.ACCOUNT_ID)],
        }),
      );
    }
    if (config.allowedAccountIds.length > 0) {
      document.addStatements(
        this.allow({
          sid: 'AllowListedAccountsPrincipalsWithIamGrant',
          actions: [INVOKE],
          resources: [TOKEN_METHOD_RESOURCE],
          principals: config.allowedAccountIds.map((account) => new iam.AccountPrincipal(account)),
        }),
      );
    }
    if (this.listedPrincipalArns.length > 0) document.addStatements(this.allowListedPrincipals);
    if (config.allowedOrganizationIds.length > 0) {
      document.addStatements(
        this.allow({
          sid: 'AllowListedOrganizations',
          actions: [INVOKE],
          resources: [TOKEN_METHOD_RESOURCE],
          principals: [new iam.AnyPrincipal()],
          // Not for the deploying account: there, an allow for "*" would need no IAM grant at all.
          conditions: {
            StringEquals: { 'aws:PrincipalOrgID': config.allowedOrganizationIds },
            StringNotEquals: { 'aws:PrincipalAccount': Aws.ACCOUNT_ID },
          },
        }),
      );
    }

    // Denied unless the caller matches at least one allowed list (the conditions of a statement AND together).
    const accounts = [...(config.allowDeployingAccount ? [Aws.ACCOUNT_ID] : []), ...config.allowedAccountIds];
    const notListed: Record<string, unknown> = {};
    const stringNotEquals: Record<string, unknown> = {};
    if (accounts.length > 0) stringNotEquals['aws:PrincipalAccount'] = accounts;
    if (config.allowedOrganizationIds.length > 0)
      stringNotEquals['aws:PrincipalOrgID'] = config.allowedOrganizationIds;
    if (Object.keys(stringNotEquals).length > 0) notListed.StringNotEquals = stringNotEquals;
    notListed.ArnNotEquals = Lazy.any({
      produce: () =>
        this.listedPrincipalArns.length > 0
          ? { 'aws:PrincipalArn': [...this.listedPrincipalArns] }
          : undefined,
    });
    document.addStatements(
      new iam.PolicyStatement({
        sid: 'DenyEveryoneNotListed',
        effect: iam.Effect.DENY,
        actions: [INVOKE],
        resources: [ANY_METHOD_RESOURCE],
        principals: [new iam.AnyPrincipal()],
        conditions: notListed,
      }),
    );
    if (!config.allowDeployingAccount && config.allowedOrganizationIds.length > 0) {
      // The organisation includes the deploying account, whose principals need no resource-policy
      // allow (an IAM grant suffices within an account): keep them out unless named.
      const unlessNamed: Record<string, unknown> = {
        StringEquals: { 'aws:PrincipalAccount': Aws.ACCOUNT_ID },
      };
      unlessNamed.ArnNotEquals = notListed.ArnNotEquals;
      document.addStatements(
        new iam.PolicyStatement({
          sid: 'DenyDeployingAccountUnlessNamed',
          effect: iam.Effect.DENY,
          actions: [INVOKE],
          resources: [ANY_METHOD_RESOURCE],
          principals: [new iam.AnyPrincipal()],
          conditions: unlessNamed,
        }),
      );
    }
    if (config.endpointType === 'PRIVATE') {
      document.addStatements(
        new iam.PolicyStatement({
          sid: 'DenyOutsideListedVpcEndpoints',
          effect: iam.Effect.DENY,
          actions: [INVOKE],
          resources: [ANY_METHOD_RESOURCE],
          principals: [new iam.AnyPrincipal()],
          conditions: { StringNotEquals: { 'aws:SourceVpce': config.vpcEndpointIds } },
        }),
      );
    }
  }
}
