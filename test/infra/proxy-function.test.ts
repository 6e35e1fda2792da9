import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, describe, expect, it } from 'vitest';
import { EnvVar } from '../../contract/env-vars';
import { StackOutput } from '../../contract/stack-outputs';
import { buildApp } from '../../lib/app';
import { loadStageConfig } from '../../lib/config/load-config';
import { cdkJsonContext } from '../kit/builders/cdk-context';
import { nagFindings } from '../kit/builders/synth';

/**
 * Proxy mode's function in the template: what its role may do (and may not), what its environment
 * holds, and that `proxy.enabled: false` leaves no trace of it. Bundling is skipped: the integration
 * tests run the real bundle (test/integration/proxy-throughline.test.ts).
 */
const outdirs: string[] = [];
afterAll(() => {
  for (const dir of outdirs) rmSync(dir, { recursive: true, force: true });
});

function synth(stage: Record<string, unknown> = {}) {
  const outdir = mkdtempSync(path.join(tmpdir(), 'proxy-function-test-'));
  outdirs.push(outdir);
  const app = new App({
    context: cdkJsonContext({ stage: 'test', stages: { test: stage }, 'aws:cdk:bundling-stacks': [] }),
    outdir,
  });
  const { stack } = buildApp(app);
  return { app, stack, template: Template.fromStack(stack) };
}

type Statement = { Sid?: string; Effect: string; Action: string | string[]; Condition?: unknown };

function proxyRoleStatements(template: Template): Statement[] {
  const [roleId] = Object.keys(template.findResources('AWS::IAM::Role')).filter((id) =>
    id.startsWith('ProxyHandlerRole'),
  );
  const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter((p) =>
    JSON.stringify(p.Properties.Roles).includes(roleId as string),
  );
  return policies.flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
}

describe('ProxyFunction (proxy mode, on by default)', () => {
  it("its role reads the token, counts in the ledger and invokes mint-token's serving entry point — nothing of the secret", () => {
    const { app, template } = synth();
    const statements = proxyRoleStatements(template);
    expect(
      statements
        .map((s) => s.Sid)
        .filter(Boolean)
        .sort(),
    ).toEqual(
      [
        'CountQuotaLedgerAndRateSlots',
        'DecryptCachedToken',
        'InvokeMintToken',
        'ReadCachedToken',
        'ReadQuotaLedger',
        'UseKeyForTableViaDynamoDB',
        'WriteOwnLogs',
      ].sort(),
    );
    const actions = statements.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));
    expect(actions.filter((a) => a.startsWith('secretsmanager:'))).toEqual([]);
    expect(actions).not.toContain('dynamodb:PutItem');
    expect(statements.find((s) => s.Sid === 'CountQuotaLedgerAndRateSlots')?.Condition).toEqual({
      'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['usage#*', 'rate#*', 'upstream-api-hold'] },
    });
    expect(nagFindings(app)).toEqual([]);
  });

  it("its environment holds settings and names, never a secret, and the settings are the stage's", () => {
    const { template } = synth({ proxy: { shares: { defaultDailyCalls: 100 } } });
    const [fn] = Object.values(template.findResources('AWS::Lambda::Function')).filter((f) =>
      String(f.Properties.Description).includes("ThroughLine's API"),
    );
    const env = fn?.Properties.Environment.Variables as Record<string, unknown>;
    expect(Object.keys(env).sort()).toEqual(
      [
        EnvVar.MintTokenFunctionName,
        'POWERTOOLS_SERVICE_NAME',
        EnvVar.ProxySettings,
        EnvVar.ServeSettings,
        EnvVar.TokenApiId,
        EnvVar.TokenApiStage,
        EnvVar.TokenKeyArn,
        EnvVar.TokenTableName,
      ].sort(),
    );
    const settings = JSON.parse(env[EnvVar.ProxySettings] as string);
    expect(settings).toMatchObject({
      upstreamBaseUrl: 'https://api.throughlinecare.com',
      maxRequestsPerSecond: 10,
      dailyQuotaCalls: 1000,
      reserveCalls: 950,
      shares: { defaultDailyCalls: 100 },
      // Off by default: no prefix has a TTL.
      cache: { ttlSecondsByPrefix: {} },
    });
    expect(JSON.stringify(env)).not.toMatch(/CredentialsSecret|client_secret/i);
  });

  it('with the response cache on, and only then, the role may PutItem response# keys', () => {
    const { template } = synth({ proxy: { cache: { enabled: true } } });
    const store = proxyRoleStatements(template).find((s) => s.Sid === 'StoreCachedResponses');
    expect(store).toMatchObject({
      Action: 'dynamodb:PutItem',
      Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['response#*'] } },
    });
  });

  it('proxy.enabled false: no function, no route, no proxy outputs', () => {
    const { template } = synth({ proxy: { enabled: false } });
    expect(
      Object.keys(template.findResources('AWS::IAM::Role')).filter((id) => id.startsWith('ProxyHandler')),
    ).toEqual([]);
    expect(Object.keys(template.toJSON().Outputs)).not.toContain(StackOutput.ProxyBaseUrl);
  });

  it('config problems are named: a share above the quota, a cache TTL for a prefix that is not a GET route, http://', () => {
    const load = (proxy: Record<string, unknown>) => () =>
      loadStageConfig((key) => ({ stage: 'bad', stages: { bad: { proxy } } })[key]);
    expect(load({ upstreamBaseUrl: 'http://api.throughlinecare.com' })).toThrow(
      /proxy\.upstreamBaseUrl: must use https/,
    );
    expect(load({ shares: { byAccountId: { '123456789012': 5000 } } })).toThrow(
      /more than the whole daily quota/,
    );
    expect(
      load({ cache: { enabled: true, ttlSecondsByPrefix: { '/v2/events/helpline_click': 60 } } }),
    ).toThrow(/not the prefix of a GET route/);
  });
});
