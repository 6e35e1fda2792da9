import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { MetricName } from '../../contract/metric-names';
import { REFRESH_PAYLOAD } from '../../lib/constructs/refresh-workflow';
import type { TokenBrokerStack } from '../../lib/token-broker-stack';
import { emfMetricNames } from '../kit/builders/emf';
import { renderDefinition } from '../kit/builders/state-machine-definition';
import { idOf, synthBrokerForAssertions } from '../kit/builders/synth';
import { LambdaInvokeEmulator } from '../kit/emulators/lambda-invoke';
import { StepFunctionsLocal } from '../kit/emulators/step-functions-local';
import { FakeTokenServer } from '../kit/fakes/token-server';
import { MOTO_REGION } from '../kit/local-aws/moto';
import { makeCredentials } from '../kit/vitest/broker-fixture';
import { expectNoSecretIn } from '../kit/vitest/leaks';
import { LOCAL_MAX_ATTEMPTS, RotationFixture } from '../kit/vitest/rotation-fixture';

/**
 * The synthesized refresh state machine definition, executed by moto's Step Functions interpreter:
 * it invokes the bundled mint-token (through the local Lambda Invoke stand-in) against moto, the local
 * HTTPS token endpoint and KMS, retries what it should, and on final failure publishes to an SNS topic
 * whose HTTP subscriber here receives the on-call message.
 */
const ACCOUNT = '123456789012';
const STACK_NAME = 'ThroughLineTokenBroker-test';

let server: FakeTokenServer;
let lambdaServer: LambdaInvokeEmulator;
let sfnLocal: StepFunctionsLocal;
let sfn: SFNClient;
let definitionString: unknown;
let stack: TokenBrokerStack;
let notifications: { Subject?: string; Message: string }[];
let subscriber: Server;

beforeAll(async () => {
  server = await FakeTokenServer.start(inject('trustedTls'));
  lambdaServer = await LambdaInvokeEmulator.start();
  sfnLocal = await StepFunctionsLocal.start(lambdaServer.url);
  sfn = new SFNClient(sfnLocal.clientConfig());
  // Short retry delays keep the test quick; the structure is the deployed one.
  const synth = synthBrokerForAssertions('refresh-workflow-local', {
    stage: {
      refresh: { maxAttempts: 3, retryIntervalSeconds: 1, maxRetryDelaySeconds: 1 },
    },
  });
  stack = synth.stack;
  const [machine] = Object.values(synth.template.findResources('AWS::StepFunctions::StateMachine'));
  definitionString = machine?.Properties.DefinitionString;
  notifications = [];
  subscriber = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      const message = JSON.parse(body) as { Type: string; Subject?: string; Message: string };
      if (message.Type === 'Notification') notifications.push(message);
      res.end();
    });
  });
  await new Promise<void>((resolve) => subscriber.listen(0, '127.0.0.1', resolve));
});
afterAll(async () => {
  await sfnLocal.stop();
  await server.stop();
  await lambdaServer.stop();
  subscriber.closeAllConnections();
  await new Promise<void>((resolve) => subscriber.close(() => resolve()));
});
beforeEach(async () => {
  server.reset();
  lambdaServer.reset();
  notifications.length = 0;
  await sfnLocal.reset();
});

/** SNS's query API on the local Step Functions' moto (no SNS client is among the project's dependencies). */
async function sns(params: Record<string, string>): Promise<string> {
  const response = await fetch(sfnLocal.endpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `AWS4-HMAC-SHA256 Credential=testing/20260101/${MOTO_REGION}/sns/aws4_request, SignedHeaders=host, Signature=x`,
    },
    body: new URLSearchParams({ ...params, Version: '2010-03-31' }),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`SNS ${params.Action} failed: ${text}`);
  return text;
}

/** Deploys the refresh state machine for a broker in moto, with an on-call topic that notifies `subscriber`. */
async function deployRefresh(fixture: RotationFixture, machineSuffix = ''): Promise<string> {
  const created = await sns({ Action: 'CreateTopic', Name: `on-call-${fixture.mintTokenFunctionName}` });
  const topicArn = /<TopicArn>([^<]+)<\/TopicArn>/.exec(created)?.[1] as string;
  await sns({
    Action: 'Subscribe',
    TopicArn: topicArn,
    Protocol: 'http',
    Endpoint: `http://127.0.0.1:${(subscriber.address() as AddressInfo).port}/`,
  });
  const references: Record<string, string> = {
    'AWS::Partition': 'aws',
    'AWS::StackName': STACK_NAME,
    [`${idOf(stack, stack.mintToken.handler.function)}.Arn`]: `arn:aws:lambda:${MOTO_REGION}:${ACCOUNT}:function:${fixture.mintTokenFunctionName}`,
    [idOf(stack, stack.onCall.ticketTopic)]: topicArn,
  };
  const definition = renderDefinition(definitionString, (reference) => {
    const value = references[reference];
    if (!value) throw new Error(`unexpected reference ${reference} in the definition`);
    return value;
  });
  const machine = await sfn.send(
    new CreateStateMachineCommand({
      name: `refresh-${fixture.mintTokenFunctionName}${machineSuffix}`,
      definition,
      roleArn: `arn:aws:iam::${ACCOUNT}:role/refresh`,
      type: 'STANDARD',
    }),
  );
  return machine.stateMachineArn as string;
}

/** Starts an execution as the schedule does and waits for it to end (bounded; no timing is asserted). */
async function runSchedule(stateMachineArn: string): Promise<DescribeExecutionCommandOutput> {
  const { executionArn } = await sfn
    // A name of its own: AWS generates a UUID when the name is omitted (StartExecution, "name"), moto
    // names every such execution "None", so a second run of one machine would be refused as a duplicate.
    .send(
      new StartExecutionCommand({
        stateMachineArn,
        name: randomUUID(),
        input: JSON.stringify({ requestedBy: 'schedule' }),
      }),
    )
    .catch((error: Error) => {
      throw new Error(
        `StartExecution failed (${error.message}); moto said:\n${sfnLocal.stderrTail().slice(-9000)}`,
      );
    });
  const deadline = Date.now() + 90_000;
  for (;;) {
    const execution = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    if (execution.status !== 'RUNNING') return execution;
    if (Date.now() > deadline) throw new Error('execution did not end within 90 s');
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function broker() {
  const creds = makeCredentials();
  const fixture = await RotationFixture.create(creds, lambdaServer, server.url);
  return { creds, fixture, stateMachineArn: await deployRefresh(fixture) };
}

describe('refresh state machine (executed)', () => {
  it('invokes mint-token in refresh mode, which fills the cache; nobody is paged', async () => {
    const { creds, fixture, stateMachineArn } = await broker();

    const execution = await runSchedule(stateMachineArn);

    expect(execution.status).toBe('SUCCEEDED');
    expect(lambdaServer.invocations.map((i) => i.payload)).toEqual([REFRESH_PAYLOAD]);
    expect(JSON.parse(execution.output ?? '{}')).toMatchObject({ outcome: 'minted', why: 'empty' });
    expect(await fixture.broker.rawCachedItem()).toBeDefined();
    expect(notifications).toEqual([]);
    expectNoSecretIn(
      [execution.output ?? '', ...lambdaServer.allText()],
      [creds.client_secret, ...server.issuedTokens],
    );
  });

  it('retries a Lambda throttle (mint-token busy with another caller) and succeeds', async () => {
    const { fixture, stateMachineArn } = await broker();
    lambdaServer.throttleNext(fixture.mintTokenFunctionName, 1);

    const execution = await runSchedule(stateMachineArn);

    expect(execution.status).toBe('SUCCEEDED');
    expect(lambdaServer.invocations.map((i) => i.outcome === 'throttled')).toEqual([true, false]);
    expect(await fixture.broker.rawCachedItem()).toBeDefined();
    expect(notifications).toEqual([]);
  });

  it('ThroughLine unavailable: mint-token answers "deferred" (gate closed), the execution ends Deferred without Step Functions retries or an e-mail', async () => {
    const { creds, stateMachineArn } = await broker();
    server.fallback = { kind: 'json', status: 503, body: { error: 'temporarily_unavailable' } };

    const execution = await runSchedule(stateMachineArn);

    // A closed gate is a known state: the UpstreamGateClosed alarm pages if it lasts, not every run.
    expect(execution.status).toBe('SUCCEEDED');
    expect(JSON.parse(execution.output ?? '{}')).toMatchObject({
      outcome: 'deferred',
      reason: 'upstream_unavailable',
      attempted: true,
      gate: { open: false, lastFailure: 'upstream_unavailable' },
    });
    expect(lambdaServer.invocations.filter((i) => i.outcome !== 'throttled')).toHaveLength(1);
    // Bounded by mint-token's own attempts, each let through by the gate's backoff.
    expect(server.requests.length).toBeGreaterThanOrEqual(1);
    expect(server.requests.length).toBeLessThanOrEqual(LOCAL_MAX_ATTEMPTS);
    expect(notifications).toEqual([]);
    expectNoSecretIn([execution.output ?? '', ...lambdaServer.allText()], [creds.client_secret]);
  });

  it('first deploy, no credentials yet: every scheduled run ends NotConfigured — no upstream call, no e-mail, no failure; one "not configured" metric per run', async () => {
    const fixture = await RotationFixture.create(undefined, lambdaServer, server.url);
    // A fresh local Step Functions per run, same definition: moto fails StartExecution after an
    // earlier execution in the same backend ("cannot pickle '_thread.RLock' object"), which AWS does not.
    const run = async (n: number) => {
      await sfnLocal.reset();
      return runSchedule(await deployRefresh(fixture, `-${n}`));
    };

    const runs = [await run(1), await run(2)];

    for (const execution of runs) {
      expect(execution.status).toBe('SUCCEEDED');
      expect(JSON.parse(execution.output ?? '{}')).toMatchObject({
        outcome: 'not_configured',
        reason: 'credentials_not_set',
      });
    }
    expect(lambdaServer.invocations).toHaveLength(2);
    expect(server.requests).toHaveLength(0);
    expect(notifications).toEqual([]);
    const emitted = lambdaServer.invocations.flatMap((i) => emfMetricNames(i.run?.logRecords ?? []));
    expect(emitted.filter((m) => m === MetricName.BrokerNotConfigured)).toHaveLength(2);
    expect(emitted).not.toContain(MetricName.MintFailed);
    expect(lambdaServer.invocations.map((i) => i.run?.results[0]?.ok)).toEqual([true, true]);

    // After `credentials set` the next run mints: the RefreshSilent signal gets its report again.
    const creds = makeCredentials();
    await fixture.broker.putCredentials(creds);
    const configured = await run(3);
    expect(JSON.parse(configured.output ?? '{}')).toMatchObject({ outcome: 'minted' });
    expect(emfMetricNames(lambdaServer.invocations.at(-1)?.run?.logRecords ?? [])).toContain(
      MetricName.CachedTokenSecondsToExpiry,
    );
    expect(notifications).toEqual([]);
  });

  it('does not retry rejected credentials: one invocation, then the on-call message points to the runbook', async () => {
    const { creds, stateMachineArn } = await broker();
    server.fallback = { kind: 'json', status: 401, body: { error: 'invalid_client' } };

    const execution = await runSchedule(stateMachineArn);

    expect(execution.status).toBe('FAILED');
    expect(execution.error).toBe('InvalidClientError');
    expect(lambdaServer.invocations).toHaveLength(1);
    expect(server.requests).toHaveLength(1);
    expect(notifications).toHaveLength(1);
    expect(notifications[0]?.Message).toMatch(/Error: InvalidClientError\./);
    expect(notifications[0]?.Message).toMatch(/docs\/runbooks\/credentials-rejected\.md/);
    expectNoSecretIn([notifications[0]?.Message ?? ''], [creds.client_secret]);
  });
});
