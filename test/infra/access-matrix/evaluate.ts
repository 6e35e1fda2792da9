import { createValidatedPolicy, validateResourcePolicy } from '@cloud-copilot/iam-policy';
import { runSimulation, runUnsafeSimulation, type Simulation } from '@cloud-copilot/iam-simulate';
import type { CfnElement } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import type { TokenBrokerStack } from '../../../lib/token-broker-stack';
import { type CfnResources, resolveCfn } from '../../kit/builders/cfn-resolve';
import type { Template } from '../../kit/builders/synth';
import {
  ACCOUNT,
  ACTIONS,
  type ActionId,
  type BrokerWorld,
  PRINCIPALS,
  type PrincipalId,
  REGION,
  type StageSetting,
} from './catalogue';

/**
 * Evaluates access-matrix cells with @cloud-copilot/iam-simulate: the principal's identity policies,
 * the resource's policy (secret, table, key, API) from the synthesized template with its intrinsics
 * resolved, and the request context of that caller.
 */

export type Decision = 'Allow' | 'Deny';
type Policy = { Version?: string; Statement: Record<string, unknown>[] };

function logicalIdOf(stack: TokenBrokerStack, construct: IConstruct): string {
  return stack.getLogicalId((construct.node.defaultChild ?? construct) as CfnElement);
}

const refersTo = (value: unknown, logicalId: string) =>
  JSON.stringify(value) === JSON.stringify({ Ref: logicalId });

/** API Gateway expands "execute-api:/…" in a resource policy to the API's own ARNs. */
function expandApiShorthand(policy: Policy, apiId: string): Policy {
  const expand = (r: unknown) =>
    typeof r === 'string' && r.startsWith('execute-api:/')
      ? `arn:aws:execute-api:${REGION}:${ACCOUNT}:${apiId}/${r.slice('execute-api:/'.length)}`
      : r;
  return {
    ...policy,
    Statement: policy.Statement.map((s) => ({
      ...s,
      Resource: Array.isArray(s.Resource) ? s.Resource.map(expand) : expand(s.Resource),
    })),
  };
}

export function brokerWorld(stack: TokenBrokerStack, template: Template): BrokerWorld {
  const resources: CfnResources = template.Resources;
  const resolve = <T>(value: unknown) => resolveCfn(value, resources) as T;
  const getAttArn = (logicalId: string) => resolve<string>({ 'Fn::GetAtt': [logicalId, 'Arn'] });
  const proxy = stack.broker.proxy;
  if (!proxy) throw new Error('the access matrix needs proxy mode (proxy.enabled) on every stage');
  const [proxyGetArn, proxyPostArn] = stack.tokenApi.proxyInvokeArns.map((arn) =>
    resolve<string>(stack.resolve(arn)),
  );
  if (!proxyGetArn?.includes('/GET/') || !proxyPostArn?.includes('/POST/')) {
    throw new Error(`unexpected proxy invoke ARNs ${proxyGetArn}, ${proxyPostArn}`);
  }
  const roleIds = {
    mint: logicalIdOf(stack, stack.mintToken.handler.role),
    serve: logicalIdOf(stack, stack.serveToken.handler.role),
    rotate: logicalIdOf(stack, stack.credentialRotation.handler.role),
    stateMachine: logicalIdOf(stack, stack.refreshWorkflow.stateMachine.role),
    proxy: logicalIdOf(stack, proxy.handler.role),
  };
  const roleArnToId = new Map(Object.values(roleIds).map((id) => [getAttArn(id), id]));
  const tableId = logicalIdOf(stack, stack.tokenCache.table);
  const apiId = logicalIdOf(stack, stack.tokenApi.api);
  const output = (name: string) => {
    const value = template.Outputs?.[name]?.Value;
    if (value === undefined) throw new Error(`template has no output ${name}`);
    return resolve<string>(value);
  };
  const tableProps = resources[tableId]?.Properties as { ResourcePolicy?: { PolicyDocument: unknown } };
  const deploymentRoleArn = (
    resolve<Policy>(tableProps.ResourcePolicy?.PolicyDocument).Statement.find(
      (s) => s.Sid === 'DenyCopiesAndPolicyChangesExceptDeployment',
    )?.Condition as { ArnNotEquals?: { 'aws:PrincipalArn': string } } | undefined
  )?.ArnNotEquals?.['aws:PrincipalArn'];

  return {
    roles: {
      mint: getAttArn(roleIds.mint),
      serve: getAttArn(roleIds.serve),
      rotate: getAttArn(roleIds.rotate),
      stateMachine: getAttArn(roleIds.stateMachine),
      proxy: getAttArn(roleIds.proxy),
    },
    functions: {
      mint: getAttArn(logicalIdOf(stack, stack.mintToken.handler.function)),
      serve: getAttArn(logicalIdOf(stack, stack.serveToken.handler.function)),
      rotate: getAttArn(logicalIdOf(stack, stack.credentialRotation.handler.function)),
      proxy: getAttArn(logicalIdOf(stack, proxy.handler.function)),
    },
    secretArn: resolve<string>({ Ref: logicalIdOf(stack, stack.credentialStore.secret) }),
    keyArn: getAttArn(logicalIdOf(stack, stack.brokerKey.key)),
    tableName: resolve<string>({ Ref: tableId }),
    tableArn: getAttArn(tableId),
    tokenInvokeArn: output('TokenInvokeArn'),
    proxyInvokeArns: { GET: proxyGetArn, POST: proxyPostArn },
    // Before the table fenced its control plane there was no such statement: the bootstrap's name.
    deploymentRoleArn:
      deploymentRoleArn ?? `arn:aws:iam::${ACCOUNT}:role/cdk-hnb659fds-cfn-exec-role-${ACCOUNT}-${REGION}`,
    identityPoliciesOf: (roleArn) => {
      const roleId = roleArnToId.get(roleArn);
      if (!roleId) throw new Error(`no role ${roleArn} in the template`);
      const inline = (
        (resources[roleId]?.Properties?.Policies ?? []) as { PolicyName: string; PolicyDocument: unknown }[]
      ).map((p) => ({ name: p.PolicyName, policy: resolve(p.PolicyDocument) }));
      const attached = Object.entries(resources)
        .filter(
          ([, r]) =>
            r.Type === 'AWS::IAM::Policy' &&
            ((r.Properties?.Roles ?? []) as unknown[]).some((role) => refersTo(role, roleId)),
        )
        .map(([id, r]) => ({ name: id, policy: resolve(r.Properties?.PolicyDocument) }));
      return [...inline, ...attached];
    },
    resourcePolicies: {
      secret: (() => {
        const entry = Object.values(resources).find(
          (r) =>
            r.Type === 'AWS::SecretsManager::ResourcePolicy' &&
            refersTo(r.Properties?.SecretId, logicalIdOf(stack, stack.credentialStore.secret)),
        );
        return resolve<Policy>(entry?.Properties?.ResourcePolicy);
      })(),
      table: resolve<Policy>(tableProps.ResourcePolicy?.PolicyDocument),
      key: resolve<Policy>(resources[logicalIdOf(stack, stack.brokerKey.key)]?.Properties?.KeyPolicy),
      api: expandApiShorthand(
        resolve<Policy>(resources[apiId]?.Properties?.Policy),
        resolve<string>({ Ref: apiId }),
      ),
    },
  };
}

function resourcePolicyFor(world: BrokerWorld, resourceArn: string): unknown {
  const policies = world.resourcePolicies;
  if (resourceArn === world.secretArn) return policies.secret;
  if (resourceArn === world.tableArn) return policies.table;
  if (resourceArn === world.keyArn) return policies.key;
  if (resourceArn.startsWith('arn:aws:execute-api:')) return policies.api;
  // Lambda functions: the template gives mint-token no resource policy (AWS::Lambda::Permission).
  return undefined;
}

export async function evaluateCell(
  world: BrokerWorld,
  stage: StageSetting,
  principalId: PrincipalId,
  actionId: ActionId,
): Promise<Decision> {
  const principal = PRINCIPALS[principalId];
  const action = ACTIONS[actionId];
  const roleArn = principal.roleArn(world);
  const roleName = roleArn.split('/').at(-1);
  const sourceFunctionArn = 'sourceFunctionArn' in principal ? principal.sourceFunctionArn(world) : undefined;
  const resource = action.resource(world);
  const context: Record<string, string | string[]> = {
    'aws:PrincipalArn': roleArn,
    'aws:PrincipalAccount': principal.account,
    'aws:PrincipalOrgID': principal.orgId,
    'aws:PrincipalType': 'AssumedRole',
    'aws:SecureTransport': 'true',
    ...(sourceFunctionArn ? { 'lambda:SourceFunctionArn': sourceFunctionArn } : {}),
    ...('context' in action ? action.context(world, stage, principal) : {}),
  };
  const resourcePolicy = resourcePolicyFor(world, resource);
  const simulation: Simulation = {
    request: {
      principal: `arn:aws:sts::${principal.account}:assumed-role/${roleName}/session`,
      action: action.action,
      resource: { resource, accountId: ACCOUNT },
      contextVariables: context,
    },
    identityPolicies: principal.identityPolicies(world),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    // Validated up front and named: the unvalidated entry point below needs the policy's name.
    ...(resourcePolicy
      ? {
          resourcePolicy: createValidatedPolicy(resourcePolicy, validateResourcePolicy, { name: 'resource' }),
        }
      : {}),
  };
  // The validating entry point checks the policies, the action, the resource type and the context
  // keys; it then drops keys it cannot place — among them kms:EncryptionContext:<key> (0.1.173 matches
  // variable keys only after a "/", as in aws:PrincipalTag/<key>). So: validate with it, insist that
  // nothing else was dropped, and decide with the same simulation unvalidated, every key kept.
  const checked = await runSimulation(simulation, {});
  if (checked.resultType === 'error') {
    throw new Error(
      `simulation of ${principalId} × ${actionId} is invalid: ${JSON.stringify(checked.errors)}`,
    );
  }
  const ignored = (checked.resultType === 'single' ? (checked.result.ignoredContextKeys ?? []) : []).filter(
    (key) => !key.startsWith('kms:EncryptionContext:'),
  );
  if (ignored.length > 0) {
    throw new Error(`simulation of ${principalId} × ${actionId} ignored context keys ${ignored.join(', ')}`);
  }
  const decided = runUnsafeSimulation(simulation, {});
  return decided === 'Allowed' ? 'Allow' : 'Deny';
}
