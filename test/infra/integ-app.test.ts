import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import type { CloudAssembly } from 'aws-cdk-lib/cx-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StackOutput } from '../../contract/stack-outputs';
import {
  buildIntegApp,
  HARNESS_STACK,
  type IntegApp,
  STAND_IN_STACK,
} from '../aws-account/integ.token-broker';
import { cdkJsonContext, PROJECT_ROOT } from '../kit/builders/cdk-context';
import { nagFindings } from '../kit/builders/synth';

/**
 * The real-AWS integration test (test/aws-account/integ.token-broker.ts) cannot run here; this proves it
 * synthesizes — its stacks, functions and assertions — so CI catches a broken harness before anyone
 * deploys it. Assets are not bundled (bundling is for deploys; the handlers are type-checked by tsc).
 */

type Resources = Record<string, { Type: string; Properties?: Record<string, unknown> }>;

let outdir: string;
let integ: IntegApp;
let assembly: CloudAssembly;

const templateOf = (stackName: string) =>
  assembly.getStackByName(stackName).template as { Resources: Resources; Outputs?: Record<string, unknown> };
const ofType = (resources: Resources, type: string) =>
  Object.values(resources).filter((r) => r.Type === type);

beforeAll(() => {
  outdir = mkdtempSync(path.join(PROJECT_ROOT, '.test-out', 'integ-app-'));
  const app = new App({ outdir, context: cdkJsonContext({ 'aws:cdk:bundling-stacks': [] }) });
  integ = buildIntegApp(app);
  assembly = app.synth();
});

afterAll(() => rmSync(outdir, { recursive: true, force: true }));

describe('integration-test app (synth only)', () => {
  it('produces the stand-in, broker, harness and assertion stacks, and registers the test case', () => {
    const names = assembly.stacks.map((s) => s.stackName);
    expect(names).toEqual(expect.arrayContaining([STAND_IN_STACK, integ.broker.stackName, HARNESS_STACK]));
    const assertStacks = names.filter((n) => n.includes('DeployAssert'));
    expect(assertStacks).toHaveLength(1);
    const manifest = JSON.parse(readFileSync(path.join(outdir, 'integ.json'), 'utf8')) as {
      testCases: Record<string, { stacks: string[]; assertionStack: string }>;
    };
    const [testCase] = Object.values(manifest.testCases);
    expect(testCase?.stacks).toEqual([STAND_IN_STACK, integ.broker.stackName, HARNESS_STACK]);
    expect(testCase?.assertionStack).toMatch(/DeployAssert/);
  });

  it('points the broker at the stand-in token endpoint (an https function URL) and makes it destroyable', () => {
    const template = templateOf(integ.broker.stackName);
    const settings = Object.values(template.Resources)
      .filter((r) => r.Type === 'AWS::Lambda::Function')
      .map((r) => JSON.stringify((r.Properties?.Environment as { Variables?: unknown })?.Variables ?? {}))
      .filter((vars) => vars.includes('tokenUrl'));
    expect(settings.length).toBeGreaterThanOrEqual(2);
    for (const vars of settings) {
      // A cross-stack reference to the stand-in's function URL (export or weak output, per cdk.json).
      expect(vars).toContain(STAND_IN_STACK);
      expect(vars).toMatch(/TokenEndpointFunctionFunctionUrl/);
      expect(vars).toContain('oauth/token');
      expect(vars).not.toContain('findahelpline.com');
    }
    for (const secret of ofType(template.Resources, 'AWS::SecretsManager::Secret')) {
      expect((secret as unknown as { DeletionPolicy?: string }).DeletionPolicy).toBe('Delete');
    }
    expect(template.Outputs).toHaveProperty(StackOutput.TokenEndpoint);
  });

  it('keeps the broker stack cdk-nag clean (AwsSolutions + Serverless packs)', () => {
    expect(nagFindings(integ.broker)).toEqual([]);
  });

  it('deploys the stand-in as a public HTTPS function URL whose expected secret is generated, not written', () => {
    const resources = templateOf(STAND_IN_STACK).Resources;
    const [url] = ofType(resources, 'AWS::Lambda::Url');
    expect(url?.Properties?.AuthType).toBe('NONE');
    const [secret] = ofType(resources, 'AWS::SecretsManager::Secret');
    expect(secret?.Properties?.GenerateSecretString).toMatchObject({ GenerateStringKey: 'client_secret' });
    expect(secret?.Properties).not.toHaveProperty('SecretString');
    for (const fn of ofType(resources, 'AWS::Lambda::Function')) {
      expect(fn.Properties?.Runtime).toBe('nodejs24.x');
    }
  });

  it("gives the setup function an operator's rights on the broker secret, and no read of its value", () => {
    const resources = templateOf(HARNESS_STACK).Resources;
    const setupPolicies = JSON.stringify(
      ofType(resources, 'AWS::IAM::Policy').filter((p) =>
        JSON.stringify(p.Properties?.Roles).includes('Setup'),
      ),
    );
    for (const action of [
      'secretsmanager:PutSecretValue',
      'secretsmanager:RotateSecret',
      'lambda:InvokeFunction',
    ]) {
      expect(setupPolicies).toContain(action);
    }
    // GetSecretValue only on the stand-in's own secret (the broker secret's policy would deny it anyway).
    type Statement = { Action: unknown; Resource: unknown };
    const brokerSecretStatements = ofType(resources, 'AWS::IAM::Policy')
      .flatMap(
        (p) => (p.Properties?.PolicyDocument as { Statement?: Statement[] } | undefined)?.Statement ?? [],
      )
      .filter((st) => JSON.stringify(st.Resource).includes('CredentialStoreCredentials'));
    expect(brokerSecretStatements.length).toBeGreaterThan(0);
    for (const st of brokerSecretStatements)
      expect(JSON.stringify(st.Action)).not.toContain('GetSecretValue');
  });

  it('grants GET /token to the granted probe only', () => {
    const resources = templateOf(HARNESS_STACK).Resources;
    const invokeGrants = ofType(resources, 'AWS::IAM::Policy').filter((p) =>
      JSON.stringify(p.Properties?.PolicyDocument).includes('execute-api:Invoke'),
    );
    expect(invokeGrants).toHaveLength(1);
    const grantedRoles = JSON.stringify(invokeGrants[0]?.Properties?.Roles);
    expect(grantedRoles).toContain('GrantedProbe');
    expect(grantedRoles).not.toContain('UngrantedProbe');
    expect(ofType(resources, 'AWS::Lambda::Function')).toHaveLength(3);
  });

  it('asserts: set credentials, 200 no-store, 403, RotateSecret refusal, rejected rotation, rotation, 200 again (each step depending on the one before)', () => {
    const assertStack = assembly.stacks.find((s) => s.stackName.includes('DeployAssert'));
    if (!assertStack) throw new Error('no assertion stack');
    const resources = (assertStack.template as { Resources: Resources }).Resources;
    const calls = Object.values(resources).filter((r) =>
      r.Type.startsWith('Custom::DeployAssert@SdkCallLambdainvoke'),
    );
    expect(calls).toHaveLength(7);
    // .next() chains the steps: all but the first depend on another Lambda invoke.
    const invokeIds = new Set(
      Object.entries(resources)
        .filter(([, r]) => r.Type.startsWith('Custom::DeployAssert@SdkCallLambdainvoke'))
        .map(([id]) => id),
    );
    const chained = calls.filter((c) =>
      ((c as { DependsOn?: string[] }).DependsOn ?? []).some((d) => invokeIds.has(d)),
    );
    expect(chained).toHaveLength(6);
    const expectations = calls.map((c) => JSON.stringify(c.Properties?.expected));
    expect(expectations.filter((e) => e.includes('no-store') && e.includes('200'))).toHaveLength(2);
    expect(expectations.filter((e) => e.includes('403') && e.includes('AccessDeniedError'))).toHaveLength(1);
    expect(expectations.filter((e) => e.includes('currentIsRotationVersion'))).toHaveLength(1);
    expect(expectations.filter((e) => e.includes('inProgressMessage'))).toHaveLength(1);
    expect(expectations.filter((e) => e.includes('currentUnchanged'))).toHaveLength(1);
    // Nothing the assertions send or expect is a credential: the setup function moves them itself.
    const everything = JSON.stringify(resources);
    expect(everything).not.toMatch(/client_secret/);
  });
});
