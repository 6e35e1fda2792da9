/**
 * Integration test of the token broker in a REAL AWS account (see docs/integration-test.md).
 *
 *   npx cdk deploy --app 'npx tsx test/aws-account/integ.token-broker.ts' --all --require-approval never
 *
 * Three stacks, deployed in this order, plus the IntegTest assertion stack:
 * - StandIn: a stand-in ThroughLine token endpoint (Lambda function URL, HTTPS) whose expected
 *   client credentials are generated at deploy into its own secret — no real secret anywhere;
 * - the broker (TokenBrokerStack, a destroyable "integ" stage) with upstream.tokenUrl = the stand-in;
 * - Harness: a setup function (copies credentials, runs a rotation) and two probes calling GET /token
 *   with SigV4 — one granted, one not.
 * Assertions: set credentials → granted probe gets 200 + no-store → ungranted probe gets 403 →
 * RotateSecret is refused while AWSPENDING sits on a non-current version (documented contract) →
 * a rotation to a pair the endpoint rejects fails at testSecret with AWSCURRENT unchanged and nothing
 * stuck → rotation to new credentials succeeds on the version Secrets Manager created → granted probe
 * gets 200 again. The secret is created EMPTY, so the deploy itself exercises Secrets Manager's
 * configuration test (testSecret on create) against an empty secret.
 */
import { ExpectedResult, IntegTest, Match } from '@aws-cdk/integ-tests-alpha';
import { App, Aws, CfnOutput, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { brokerStackName } from '../../contract/stack-outputs';
import { stageSchema } from '../../lib/config/schema';
import { TokenBrokerStack } from '../../lib/token-broker-stack';
import { IntegFunction } from './integ-function';

export const INTEG_STAGE = 'integ';
export const STAND_IN_STACK = 'ThroughLineTokenBrokerInteg-StandIn';
export const HARNESS_STACK = 'ThroughLineTokenBrokerInteg-Harness';
export const INTEG_TEST_NAME = 'ThroughLineTokenBrokerInteg';
/** Literal placeholder the schema validates; replaced by the stand-in's URL (known only at deploy). */
const TOKEN_URL_PLACEHOLDER = 'https://stand-in.invalid/oauth/token';

export interface IntegApp {
  readonly app: App;
  readonly standIn: Stack;
  readonly broker: TokenBrokerStack;
  readonly harness: Stack;
  readonly integ: IntegTest;
}

class StandInStack extends Stack {
  readonly secret: secretsmanager.Secret;
  readonly tokenUrl: string;

  constructor(scope: App, id: string) {
    super(scope, id, { description: 'Integration test: stand-in ThroughLine token endpoint' });
    this.secret = new secretsmanager.Secret(this, 'ExpectedCredentials', {
      description: 'Integration test: the client credentials the stand-in token endpoint accepts',
      removalPolicy: RemovalPolicy.DESTROY,
      generateSecretString: {
        secretStringTemplate: JSON.stringify({ client_id: 'integ-client' }),
        generateStringKey: 'client_secret',
        passwordLength: 40,
        excludePunctuation: true,
      },
    });
    const endpoint = new IntegFunction(this, 'TokenEndpoint', {
      handlerName: 'stand-in-token-endpoint',
      description: 'Integration test: stand-in ThroughLine OAuth token endpoint',
      timeout: Duration.seconds(10),
      environment: { STAND_IN_SECRET_ARN: this.secret.secretArn },
    });
    this.secret.grantRead(endpoint.function);
    // Like a real OAuth token endpoint: public over HTTPS, the client authenticates in the body.
    const url = endpoint.function.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.NONE });
    this.tokenUrl = `${url.url}oauth/token`;
    new CfnOutput(this, 'StandInTokenUrl', { value: this.tokenUrl });
  }
}

class HarnessStack extends Stack {
  readonly setup: IntegFunction;
  readonly grantedProbe: IntegFunction;
  readonly ungrantedProbe: IntegFunction;

  constructor(scope: App, id: string, standIn: StandInStack, broker: TokenBrokerStack) {
    super(scope, id, { description: 'Integration test: setup function and token API probes' });
    const brokerSecret = broker.credentialStore.secret;
    this.setup = new IntegFunction(this, 'Setup', {
      handlerName: 'credentials-setup',
      description: 'Integration test: puts and rotates the broker credentials',
      timeout: Duration.seconds(110),
      environment: {
        STAND_IN_SECRET_ARN: standIn.secret.secretArn,
        BROKER_SECRET_ARN: brokerSecret.secretArn,
      },
    });
    standIn.secret.grantRead(this.setup.function);
    standIn.secret.grantWrite(this.setup.function);
    // What an operator running `credentials set` / `credentials rotate` may do: write and relabel
    // versions, start the rotation, read metadata — not read the value (the secret's policy denies it).
    this.setup.function.addToRolePolicy(
      new iam.PolicyStatement({
        actions: [
          'secretsmanager:PutSecretValue',
          'secretsmanager:RotateSecret',
          'secretsmanager:DescribeSecret',
          'secretsmanager:ListSecretVersionIds',
          'secretsmanager:UpdateSecretVersionStage',
        ],
        resources: [brokerSecret.secretArn],
      }),
    );
    this.setup.function.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['kms:GenerateDataKey', 'kms:Decrypt', 'kms:Encrypt'],
        resources: [broker.brokerKey.key.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${Aws.REGION}.${Aws.URL_SUFFIX}` } },
      }),
    );

    // Secrets Manager's documentation asks this of whoever calls RotateSecret on a secret with a
    // rotation function (as docs/rotation.md does of operators).
    this.setup.function.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['lambda:InvokeFunction'],
        resources: [broker.credentialRotation.handler.function.functionArn],
      }),
    );

    const probeEnv = { TOKEN_API_URL: broker.tokenApi.url };
    this.grantedProbe = new IntegFunction(this, 'GrantedProbe', {
      handlerName: 'token-probe',
      description: 'Integration test: a consumer granted GET /token',
      timeout: Duration.seconds(60),
      environment: probeEnv,
    });
    broker.tokenApi.grantGetToken(this.grantedProbe.function);
    this.ungrantedProbe = new IntegFunction(this, 'UngrantedProbe', {
      handlerName: 'token-probe',
      description: 'Integration test: a same-account principal with no grant on GET /token',
      timeout: Duration.seconds(60),
      environment: probeEnv,
    });
  }
}

/** What a probe must report for a served token. */
const SERVED = {
  status: 200,
  cacheControl: Match.stringLikeRegexp('no-store'),
  tokenType: 'Bearer',
  hasAccessToken: true,
  client: { ok: true, tokenType: 'Bearer' },
};

/** Builds the integration-test app (stacks and assertions) in `app`. */
export function buildIntegApp(app: App): IntegApp {
  const standIn = new StandInStack(app, STAND_IN_STACK);
  const parsed = stageSchema.parse({
    description: 'Integration test against the stand-in token endpoint; destroyed afterwards.',
    removalPolicy: 'destroy',
    logRetentionDays: 1,
    upstream: { tokenUrl: TOKEN_URL_PLACEHOLDER },
    api: {
      // A fresh sandbox account has no API Gateway logging role; set false if yours has one.
      createAccountLoggingRole: app.node.tryGetContext('integ:createAccountLoggingRole') !== 'false',
    },
  });
  const config = { ...parsed, upstream: { ...parsed.upstream, tokenUrl: standIn.tokenUrl } };
  const broker = new TokenBrokerStack(app, brokerStackName(INTEG_STAGE), {
    stageName: INTEG_STAGE,
    config,
    description: 'ThroughLine token broker (integration test against a stand-in endpoint)',
  });
  // No cdk-nag packs at synth: a plugin validates every stack of the app, and the stand-in and the
  // harness are test fixtures deployed for minutes (the stand-in deliberately public, as a real OAuth
  // endpoint is). The broker stack is held to the production packs by test/infra/integ-app.test.ts.
  const harness = new HarnessStack(app, HARNESS_STACK, standIn, broker);

  const integ = new IntegTest(app, INTEG_TEST_NAME, {
    testCases: [standIn, broker, harness],
    diffAssets: true,
    cdkCommandOptions: { destroy: { args: { force: true } } },
  });
  const invoke = (fn: IntegFunction, payload?: Record<string, unknown>) =>
    integ.assertions.invokeFunction({
      functionName: fn.function.functionName,
      ...(payload ? { payload: JSON.stringify(payload) } : {}),
    });
  const setCredentials = invoke(harness.setup, { action: 'set' });
  setCredentials.expect(
    ExpectedResult.objectLike({ Payload: Match.serializedJson(Match.objectLike({ result: 'succeeded' })) }),
  );
  const served = invoke(harness.grantedProbe);
  served.expect(ExpectedResult.objectLike({ Payload: Match.serializedJson(Match.objectLike(SERVED)) }));
  const refused = invoke(harness.ungrantedProbe);
  refused.expect(
    ExpectedResult.objectLike({
      Payload: Match.serializedJson(
        Match.objectLike({
          status: 403,
          hasAccessToken: false,
          client: { ok: false, error: 'AccessDeniedError', status: 403 },
        }),
      ),
    }),
  );
  const probedRefusal = invoke(harness.setup, { action: 'probe-refusal' });
  probedRefusal.expect(
    ExpectedResult.objectLike({
      Payload: Match.serializedJson(
        Match.objectLike({ refused: true, inProgressMessage: true, released: true }),
      ),
    }),
  );
  const rejected = invoke(harness.setup, { action: 'rotate-rejected' });
  rejected.expect(
    ExpectedResult.objectLike({
      Payload: Match.serializedJson(
        Match.objectLike({
          result: 'failed',
          failedStep: 'testSecret',
          upstreamError: 'InvalidClientError',
          currentUnchanged: true,
          pendingOnNonCurrent: false,
        }),
      ),
    }),
  );
  const rotated = invoke(harness.setup, { action: 'rotate' });
  rotated.expect(
    ExpectedResult.objectLike({
      Payload: Match.serializedJson(
        Match.objectLike({
          result: 'succeeded',
          rotationVersionIsNew: true,
          currentIsRotationVersion: true,
          stagedLabelLeft: false,
          pendingOnNonCurrent: false,
        }),
      ),
    }),
  );
  const servedAfterRotation = invoke(harness.grantedProbe);
  servedAfterRotation.expect(
    ExpectedResult.objectLike({ Payload: Match.serializedJson(Match.objectLike(SERVED)) }),
  );
  setCredentials
    .next(served)
    .next(refused)
    .next(probedRefusal)
    .next(rejected)
    .next(rotated)
    .next(servedAfterRotation);

  return { app, standIn, broker, harness, integ };
}

if (require.main === module) {
  const app = new App();
  buildIntegApp(app);
  app.synth();
}
