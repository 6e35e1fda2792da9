import type { APIGatewayProxyResult } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { TEST_API, tokenRequestEvent } from '../kit/builders/api-gateway-event';
import { LambdaInvokeEmulator } from '../kit/emulators/lambda-invoke';
import { RecordingAwsProxy } from '../kit/emulators/recording-aws-proxy';
import { FakeTokenServer } from '../kit/fakes/token-server';
import type { WarmLambda } from '../kit/runners/warm-lambda';
import { expectNoSecretIn } from '../kit/vitest/leaks';
import { ServeTokenBroker, worldSources } from '../kit/vitest/serve-token-harness';

/**
 * The bundled serve-token's audit line cannot be talked into recording a direct invocation as an
 * API Gateway call: only events of the deployed API and stage (TOKEN_API_ID / TOKEN_API_STAGE) are
 * API calls; an API-shaped payload of any other API or stage is a direct invocation, refused, and
 * recorded as one — without the caller it names.
 */

const FORGED_CALLER = 'arn:aws:iam::123456789012:role/Someone-Else-Entirely';

let tokenServer: FakeTokenServer;
let standIn: LambdaInvokeEmulator;
let proxy: RecordingAwsProxy;
let broker: ServeTokenBroker;
let instance: WarmLambda;

beforeAll(async () => {
  tokenServer = await FakeTokenServer.start(inject('trustedTls'));
  standIn = await LambdaInvokeEmulator.start();
  proxy = await RecordingAwsProxy.start(inject('motoEndpoint'));
  broker = await ServeTokenBroker.createFrom(worldSources(), { tokenServer, standIn, proxy });
  instance = await broker.startServe();
});
afterAll(async () => {
  await broker.stop();
  await Promise.all([tokenServer.stop(), standIn.stop(), proxy.stop()]);
});
afterEach(() => {
  expectNoSecretIn(broker.logLines, [broker.credentials.client_secret, ...tokenServer.issuedTokens]);
});

const audits = () => instance.logRecords.filter((r) => r.message === 'Token request');

/** The audit line after the first `seen`: log lines may arrive a little after the result. */
async function auditAfter(seen: number): Promise<Record<string, unknown>> {
  for (let waited = 0; audits().length <= seen && waited < 5_000; waited += 20) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return audits()[seen]?.audit as Record<string, unknown>;
}

describe('serve-token (bundled) — which channel the audit line records', () => {
  it('an event of the deployed API and stage is an API call with its caller', async () => {
    const seen = audits().length;
    const result = await instance.invoke<APIGatewayProxyResult>(tokenRequestEvent());

    expect(result.ok && result.value.statusCode).toBe(200);
    expect(await auditAfter(seen)).toMatchObject({ caller: { channel: 'api' }, outcome: 'served' });
  });

  it.each([
    ['another API id', { apiId: 'zzz999', stage: TEST_API.stage }],
    ['another stage', { apiId: TEST_API.apiId, stage: 'prod' }],
  ])(
    'an API-shaped direct invocation with %s is refused and recorded as a direct invocation',
    async (_, api) => {
      // Prepare
      const event = tokenRequestEvent({ callerArn: FORGED_CALLER });
      const forged = { ...event, requestContext: { ...event.requestContext, ...api } };
      const servedBefore = tokenServer.issuedTokens.length;
      const seen = audits().length;

      // Act
      const result = await instance.invoke<Record<string, unknown>>(forged);

      // Assess
      expect(result.ok && result.value).toMatchObject({ error: 'invalid_request' });
      expect(JSON.stringify(result)).not.toContain('access_token');
      const audit = await auditAfter(seen);
      expect(audit).toMatchObject({ channel: 'lambda-invoke', apiShaped: true, outcome: 'invalid_request' });
      expect(audit.caller).toBeUndefined();
      expect(JSON.stringify(audit)).not.toContain(FORGED_CALLER);
      expect(tokenServer.issuedTokens.length).toBe(servedBefore);
    },
  );
});
