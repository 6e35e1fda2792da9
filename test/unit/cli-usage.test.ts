import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { OPERATOR_ALIAS, type QuotaUsageReport } from '../../contract/mint-token-payload';
import { QuotaLedgerStore } from '../../lambda/aws/quota-ledger-store';
import { callerPrincipal } from '../../lambda/proxy/caller-principal';
import { LambdaInvokeEmulator } from '../kit/emulators/lambda-invoke';
import { FakeTokenServer } from '../kit/fakes/token-server';
import { deployBrokerOutputs, runCli, useMotoCredentials } from '../kit/runners/cli-harness';
import { awsClientConfig, BrokerFixture, makeCredentials } from '../kit/vitest/broker-fixture';
import { expectNoSecretIn } from '../kit/vitest/leaks';
import { bundled, localUpstream } from '../kit/vitest/rotation-fixture';

/**
 * `broker usage` against moto and the bundled mint-token (as `cdk synth` packages it, with the
 * default stage's proxy mode and so its quota settings) behind the local Lambda Invoke stand-in:
 * the operator alias reads the quota ledger the proxy writes (QuotaLedgerStore.record, callers
 * normalised by callerPrincipal as the proxy does) and the gate's token requests, mints nothing
 * and never calls ThroughLine.
 */
let server: FakeTokenServer;
let lambdaServer: LambdaInvokeEmulator;

beforeAll(async () => {
  useMotoCredentials();
  server = await FakeTokenServer.start(inject('trustedTls'));
  lambdaServer = await LambdaInvokeEmulator.start();
});
afterAll(async () => {
  await server.stop();
  await lambdaServer.stop();
});
beforeEach(() => {
  server.reset();
  lambdaServer.reset();
});

const WEB = 'arn:aws:iam::111111111111:role/helpline-web';
const BATCH = 'arn:aws:iam::222222222222:role/batch';
const REPORTS = 'arn:aws:iam::222222222222:role/reports';
const HOUR_MS = 3_600_000;

/** The deployed quota rules, smaller than the defaults so shares run out in a few calls. */
const QUOTA = {
  dailyQuotaCalls: 100,
  reserveCalls: 95,
  shares: {
    defaultDailyCalls: 5,
    byPrincipalArn: { [WEB]: 3 },
    byAccountId: { '222222222222': 10 },
  },
};

/**
 * One broker in moto with mint-token registered under a fresh name (operator alias included), its
 * settings as synthesized except the local token server and `quota` (null: as without proxy mode).
 */
async function deployed(quota: typeof QUOTA | null = QUOTA) {
  const creds = makeCredentials();
  const broker = await BrokerFixture.create(creds);
  const mintTokenFunctionName = `mint-token-${randomUUID().slice(0, 8)}`;
  const mint = bundled('MintToken');
  lambdaServer.register(mintTokenFunctionName, {
    reservedConcurrency: 1,
    aliases: [OPERATOR_ALIAS],
    bundle: mint.bundle,
    env: broker.functionEnv(mint.environment, (settings) => {
      localUpstream(server.url)(settings);
      // The synthesized default stage has proxy mode on: its settings carry the quota section.
      expect(settings.quota).toMatchObject({ dailyQuotaCalls: 1_000, reserveCalls: 950 });
      if (quota) settings.quota = quota;
      else delete settings.quota;
    }),
  });
  const { stage } = await deployBrokerOutputs(awsClientConfig(), {
    secretArn: broker.secretArn,
    mintTokenFunctionName,
  });
  const env = {
    AWS_REGION: 'us-east-1',
    AWS_ENDPOINT_URL: inject('motoEndpoint'),
    AWS_ENDPOINT_URL_LAMBDA: lambdaServer.url,
  };
  const cli = (args: string[]) => runCli(['usage', '--stage', stage, ...args], { env });
  /** Invokes mint-token as serve-token does (no qualifier), or through an alias. */
  const invoke = async (payload: unknown, qualifier?: string) => {
    const response = await fetch(
      `${lambdaServer.url}/2015-03-31/functions/${mintTokenFunctionName}/invocations${qualifier ? `?Qualifier=${qualifier}` : ''}`,
      { method: 'POST', body: JSON.stringify(payload) },
    );
    return { functionError: response.headers.get('x-amz-function-error'), body: await response.text() };
  };
  const ledger = new QuotaLedgerStore(broker.dynamo, broker.tableName);
  /** Counts `calls` proxied calls of a caller `hoursAgo`, as the proxy does before each call. */
  const record = async (userArn: string, accountId: string, calls: number, hoursAgo = 0) => {
    for (let i = 0; i < calls; i++) {
      await ledger.record(callerPrincipal(userArn, accountId), Date.now() - hoursAgo * HOUR_MS);
    }
  };
  return { creds, cli, invoke, record };
}

describe('usage', () => {
  it("shows the window's calls by consumer with shares and what is left, as a table and as JSON, and never a token", async () => {
    const { creds, cli, invoke, record } = await deployed();
    // One token request through the gate (serve-token's ensure): counted against the quota too.
    expect(JSON.parse((await invoke({ action: 'ensure' })).body)).toMatchObject({ outcome: 'minted' });
    // Sessions count as their role: helpline-web spends its own share of 3 (one call 5 hours ago).
    await record('arn:aws:sts::111111111111:assumed-role/helpline-web/web-1', '111111111111', 1, 5);
    await record('arn:aws:sts::111111111111:assumed-role/helpline-web/web-2', '111111111111', 2);
    // batch and reports share their account's 10.
    await record('arn:aws:sts::222222222222:assumed-role/batch/nightly', '222222222222', 4);
    await record(REPORTS, '222222222222', 2);
    // A principal without a share of its own or of its account: the default 5.
    await record('arn:aws:iam::333333333333:user/ops', '333333333333', 1);
    const invocationsBefore = lambdaServer.invocations.length;

    const table = await cli([]);
    const json = await cli(['--json']);

    expect(table.error).toBeUndefined();
    expect(table.out[0]).toBe(
      'Calls to ThroughLine in the last 24 h: 11 (1 token request, 10 API calls) = 11 % of the daily quota of 100; reserve at 95 (95 %), 84 calls before it.',
    );
    expect(table.out[1]).toMatch(/^The oldest counted hour leaves the window at \S+Z \(in \d+ s\)\.$/);
    const header = table.out.findIndex((l) => l.startsWith('PRINCIPAL'));
    expect(table.out[header]).toMatch(
      /^PRINCIPAL\s+ACCOUNT\s+CALLS\s+SHARE\s+REMAINING\s+OLDEST HOUR LEAVES$/,
    );
    const rows = table.out.slice(header + 1, header + 5).map((l) => l.split(/\s{2,}/));
    expect(rows.map((r) => r.slice(0, 4))).toEqual([
      [BATCH, '222222222222', '4', '10 (account)'],
      [WEB, '111111111111', '3', '3 (own)'],
      [REPORTS, '222222222222', '2', '10 (account)'],
      ['arn:aws:iam::333333333333:user/ops', '333333333333', '1', '5 (default)'],
    ]);
    expect(rows.map((r) => r[4])).toEqual([
      '4', // the account's 10 less its 6
      expect.stringMatching(/^0, spent until \S+Z \(in \d+ s\)$/),
      '4',
      '4',
    ]);
    const accounts = table.out.findIndex((l) => l.startsWith('ACCOUNT'));
    expect(table.out.slice(accounts + 1, accounts + 4).map((l) => l.split(/\s{2,}/).slice(0, 4))).toEqual([
      ['222222222222', '6', '10 (account)', '4'],
      ['111111111111', '3', 'none (per principal)', '-'],
      ['333333333333', '1', 'none (per principal)', '-'],
    ]);

    expect(json.error).toBeUndefined();
    const answer = JSON.parse(json.out.join('\n')) as QuotaUsageReport;
    expect(answer).toMatchObject({
      outcome: 'usage',
      dailyQuotaCalls: 100,
      reserveCalls: 95,
      callsLast24Hours: 11,
      tokenRequestsLast24Hours: 1,
      apiCallsLast24Hours: 10,
      remainingBeforeReserve: 84,
      reserveReachedUntil: null,
      defaultDailyCalls: 5,
    });
    const web = answer.principals.find((p) => p.principalArn === WEB);
    expect(web).toMatchObject({ calls: 3, share: { scope: 'principal', dailyCalls: 3, remaining: 0 } });
    // Its oldest call (5 hours ago) frees a call when that hour leaves the window, 19 to 20 hours from now.
    const secondsToFree = (web?.share.availableAt ?? 0) - answer.asOf;
    expect(secondsToFree).toBeGreaterThan(18 * 3600);
    expect(secondsToFree).toBeLessThanOrEqual(19 * 3600 + 1);
    expect(web?.oldestHourLeavesAt).toBe(web?.share.availableAt);
    expect(answer.principals.find((p) => p.principalArn === BATCH)?.share).toEqual({
      scope: 'account',
      dailyCalls: 10,
      remaining: 4,
      availableAt: null,
    });

    // Through the operator alias, nothing minted, ThroughLine not asked.
    expect(lambdaServer.invocations.slice(invocationsBefore).map((i) => [i.qualifier, i.payload])).toEqual([
      [OPERATOR_ALIAS, { action: 'usage', requestedBy: expect.stringMatching(/^cli/) }],
      [OPERATOR_ALIAS, { action: 'usage', requestedBy: expect.stringMatching(/^cli/) }],
    ]);
    expect(server.requests).toHaveLength(1);
    expect(server.issuedTokens).toHaveLength(1);
    expectNoSecretIn(
      [table.text, json.text, ...lambdaServer.allText()],
      [creds.client_secret, ...server.issuedTokens],
    );
  });

  it('is for operators: the serving entry point refuses it', async () => {
    const { invoke } = await deployed();

    const served = await invoke({ action: 'usage' });

    expect(served.functionError).toBe('Unhandled');
    expect(JSON.parse(served.body)).toMatchObject({
      errorType: 'MintTokenRequestError',
      errorMessage: expect.stringMatching(/"usage" is for operators: invoke the operator alias/),
    });
  });

  it('an empty ledger: nothing counted, each configured share whole', async () => {
    const { cli } = await deployed();

    const run = await cli([]);

    expect(run.error).toBeUndefined();
    expect(run.out[0]).toBe(
      'Calls to ThroughLine in the last 24 h: 0 (0 token requests, 0 API calls) = 0 % of the daily quota of 100; reserve at 95 (95 %), 95 calls before it.',
    );
    expect(run.out.find((l) => l.startsWith(WEB))?.split(/\s{2,}/)).toEqual([
      WEB,
      '111111111111',
      '0',
      '3 (own)',
      '3',
      '-',
    ]);
  });

  it('proxy mode off: says so and what to set', async () => {
    const { cli } = await deployed(null);

    const run = await cli([]);

    expect(run.error?.message).toMatch(/^Proxy mode is off on this broker: .*set proxy\.enabled to true/);
    expect(run.out).toEqual([]);
  });

  it('mint-token unreachable: the invoker error, as the other commands report it', async () => {
    const { stage } = await deployBrokerOutputs(awsClientConfig(), {
      secretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:none',
      mintTokenFunctionName: 'no-such-mint-token',
    });

    const run = await runCli(['usage', '--stage', stage], {
      env: {
        AWS_REGION: 'us-east-1',
        AWS_ENDPOINT_URL: inject('motoEndpoint'),
        AWS_ENDPOINT_URL_LAMBDA: lambdaServer.url,
      },
    });

    expect(run.error?.name).toBe('MintFailedError');
    expect(run.error?.message).toBe('mint-token could not be invoked (ResourceNotFoundException)');
  });

  it('rejects unexpected arguments', async () => {
    const run = await runCli(['usage', 'today']);

    expect(run.error?.message).toMatch(/too many arguments/);
  });
});
