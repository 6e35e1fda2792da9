import { Aws, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct, type IConstruct } from 'constructs';
import { PROXY_METHODS, PROXY_PATH } from '../../contract/proxy-api';
import type { ApiConfig } from '../config/schema';
import { accessLogFormat } from './access-log-format';
import { INVOKE, TOKEN_PATH, TokenApiResourcePolicy } from './token-api-resource-policy';

export { TOKEN_PATH } from './token-api-resource-policy';

export interface TokenApiProps {
  readonly config: ApiConfig;
  /** serve-token. */
  readonly handler: lambda.IFunction;
  /** Encrypts the access and execution log groups. */
  readonly key: kms.IKey;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
}

/** The one stage; part of every URL and of the ARN consumers are granted. */
export const TOKEN_API_STAGE = 'v1';
export const MIN_TTL_QUERY_PARAMETER = 'min_ttl';

/**
 * The consumer API: `GET /token` on API Gateway (REST), authenticated with IAM (SigV4) on every
 * method, behind a resource policy that allows only the configured principals, accounts and
 * organisations and denies everyone else explicitly. By default only principals of the deploying
 * account that also hold an IAM grant may call it: the policy delegates to the account, so nothing
 * is open by itself. PRIVATE endpoints additionally pin the listed VPC endpoints.
 *
 * Stage: throttled, JSON access logs (caller ARN and account, never a body) and error-level
 * execution logs to KMS-encrypted log groups with retention, data tracing off, X-Ray on.
 */
export class TokenApi extends Construct {
  readonly api: apigateway.RestApi;
  readonly tokenMethod: apigateway.Method;
  readonly accessLogGroup: logs.LogGroup;
  readonly executionLogGroup: logs.LogGroup;
  /** The proxy route's methods (addProxyRoute), none without it. */
  readonly proxyMethods: apigateway.Method[] = [];
  /** The resource policy; same-stack roles granted with grantGetToken join its allow-list. */
  private readonly resourcePolicy: TokenApiResourcePolicy;

  constructor(
    scope: Construct,
    id: string,
    private readonly props: TokenApiProps,
  ) {
    super(scope, id);
    const { config } = props;
    const isPrivate = config.endpointType === 'PRIVATE';
    this.resourcePolicy = new TokenApiResourcePolicy(config);

    this.accessLogGroup = new logs.LogGroup(this, 'AccessLogs', {
      encryptionKey: props.key,
      retention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });

    this.api = new apigateway.RestApi(this, 'Api', {
      restApiName: `${Stack.of(this).stackName}-token-api`,
      description: `ThroughLine token broker (${Aws.STACK_NAME}): GET /token for IAM-authenticated internal callers`,
      endpointConfiguration: isPrivate
        ? {
            types: [apigateway.EndpointType.PRIVATE],
            vpcEndpoints: config.vpcEndpointIds.map((vpcEndpointId) =>
              ec2.InterfaceVpcEndpoint.fromInterfaceVpcEndpointAttributes(this, `Endpoint-${vpcEndpointId}`, {
                vpcEndpointId,
                port: 443,
              }),
            ),
          }
        : { types: [apigateway.EndpointType.REGIONAL] },
      policy: this.resourcePolicy.document,
      defaultMethodOptions: { authorizationType: apigateway.AuthorizationType.IAM },
      // AWS::ApiGateway::Account is one setting per account and region ("AWS::ApiGateway::Account",
      // CloudFormation User Guide): each stack that sets it overwrites it. Off by default, so a stage
      // never replaces the account's role; `broker preflight` checks that one is registered.
      cloudWatchRole: config.createAccountLoggingRole,
      // The role and the account setting serve every REST API of the account: never deleted with this stack.
      ...(config.createAccountLoggingRole ? { cloudWatchRoleRemovalPolicy: RemovalPolicy.RETAIN } : {}),
      deployOptions: {
        stageName: TOKEN_API_STAGE,
        description: 'Token API stage',
        throttlingRateLimit: config.throttlingRateLimit,
        throttlingBurstLimit: config.throttlingBurstLimit,
        accessLogDestination: new apigateway.LogGroupLogDestination(this.accessLogGroup),
        accessLogFormat: accessLogFormat(),
        // Data tracing would write request and response bodies — the token — to the execution logs.
        dataTraceEnabled: false,
        loggingLevel: apigateway.MethodLoggingLevel.ERROR,
        metricsEnabled: true,
        tracingEnabled: true,
      },
    });

    // API Gateway would create the execution log group itself: unencrypted and kept forever.
    this.executionLogGroup = new logs.LogGroup(this, 'ExecutionLogs', {
      logGroupName: `API-Gateway-Execution-Logs_${this.api.restApiId}/${TOKEN_API_STAGE}`,
      encryptionKey: props.key,
      retention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });
    this.api.deploymentStage.node.addDependency(this.executionLogGroup);

    // Errors API Gateway answers itself (403 unauthorised, 429 throttled…) carry no-store too.
    for (const [id, type] of [
      ['Default4xx', apigateway.ResponseType.DEFAULT_4XX],
      ['Default5xx', apigateway.ResponseType.DEFAULT_5XX],
    ] as const) {
      this.api.addGatewayResponse(id, {
        type,
        responseHeaders: { 'Cache-Control': "'no-store'", Pragma: "'no-cache'" },
      });
    }

    const validator = this.api.addRequestValidator('QueryStringValidator', {
      requestValidatorName: 'query-string',
      validateRequestParameters: true,
      // GET /token has no body model, so this checks nothing today; it guards any method added later.
      validateRequestBody: true,
    });
    this.tokenMethod = this.api.root
      .addResource(TOKEN_PATH)
      .addMethod(
        'GET',
        new apigateway.LambdaIntegration(props.handler, { proxy: true, allowTestInvoke: false }),
        {
          authorizationType: apigateway.AuthorizationType.IAM,
          requestValidator: validator,
          requestParameters: { [`method.request.querystring.${MIN_TTL_QUERY_PARAMETER}`]: false },
        },
      );
    Validations.of(this.tokenMethod.node.defaultChild as apigateway.CfnMethod).acknowledge({
      id: 'AwsSolutions-COG4',
      reason:
        'The token API is for internal AWS workloads, which authenticate with IAM (SigV4, AuthorizationType AWS_IAM) and are authorised by IAM policies plus the API resource policy; there are no end users for a Cognito user pool.',
    });

    Validations.of(this.api.deploymentStage.node.defaultChild as apigateway.CfnStage).acknowledge({
      id: 'Serverless-APIGWStructuredLogging',
      reason:
        'The access log format is JSON (lib/constructs/access-log-format.ts); numeric fields such as $context.status are written unquoted so log queries treat them as numbers, which makes the template text itself unparseable until API Gateway substitutes the values — the check parses the template.',
    });

    if (config.webAclArn) {
      new wafv2.CfnWebACLAssociation(this, 'WebAcl', {
        resourceArn: this.api.deploymentStage.stageArn,
        webAclArn: config.webAclArn,
      });
    } else {
      Validations.of(this.api.deploymentStage.node.defaultChild as apigateway.CfnStage).acknowledge({
        id: 'AwsSolutions-APIG3',
        reason:
          'No WAF by default: every request must carry a valid SigV4 signature of an allowed principal (resource policy denies all others before the integration runs) and the stage is throttled; set api.webAclArn to attach a web ACL.',
      });
    }
    if (config.createAccountLoggingRole) {
      const role = this.api.node.tryFindChild('CloudWatchRole');
      if (role) {
        Validations.of(role).acknowledge({
          id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
          reason:
            'AmazonAPIGatewayPushToCloudWatchLogs is the AWS-documented policy of the account-wide API Gateway logging role; it only creates and writes log groups and streams, and the role serves every REST API in the account, so it cannot be scoped to this API.',
        });
      }
    }

    this.node.addValidation({
      validate: () =>
        this.resourcePolicy.allowsNobody()
          ? [
              'TokenApi: the resource policy allows nobody; allow the deploying account or list principals, accounts or organisations',
            ]
          : [],
    });
  }

  /**
   * Proxy mode: `GET|POST /throughline/{proxy+}` to the proxy function, IAM-authenticated like
   * `GET /token` and open to the same principals (the resource policy's allows gain its methods).
   * Responses of 8 KiB and more are compressed for callers that accept it: API Gateway's
   * `minimumCompressionSize` ("Enabling payload compression for a REST API", API Gateway Developer
   * Guide, https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-gzip-compression-decompression.html).
   */
  addProxyRoute(handler: lambda.IFunction): void {
    if (this.proxyMethods.length > 0)
      throw new Error('TokenApi.addProxyRoute: the proxy route exists already');
    const resource = this.api.root.addResource(PROXY_PATH).addResource('{proxy+}');
    const integration = new apigateway.LambdaIntegration(handler, { proxy: true, allowTestInvoke: false });
    for (const method of PROXY_METHODS) {
      const added = resource.addMethod(method, integration, {
        authorizationType: apigateway.AuthorizationType.IAM,
      });
      Validations.of(added.node.defaultChild as apigateway.CfnMethod).acknowledge({
        id: 'AwsSolutions-COG4',
        reason:
          'The proxy route is for internal AWS workloads, which authenticate with IAM (SigV4, AuthorizationType AWS_IAM) and are authorised by IAM policies plus the API resource policy; there are no end users for a Cognito user pool.',
      });
      this.proxyMethods.push(added);
    }
    this.resourcePolicy.allowProxyRoute();
    (this.api.node.defaultChild as apigateway.CfnRestApi).minimumCompressionSize = 8_192;
  }

  /** The execute-api ARNs of the proxy route (execute-api:Invoke), empty without it. */
  get proxyInvokeArns(): string[] {
    return this.proxyMethods.length === 0
      ? []
      : PROXY_METHODS.map((method) => this.api.arnForExecuteApi(method, `/${PROXY_PATH}/*`, TOKEN_API_STAGE));
  }

  /** Base URL of the stage, ending in "/". */
  get url(): string {
    return this.api.url;
  }

  /** The full URL of `GET /token`. */
  get tokenUrl(): string {
    return this.api.urlForPath(`/${TOKEN_PATH}`);
  }

  /** The execute-api ARN a caller's IAM policy must allow (execute-api:Invoke). */
  get tokenInvokeArn(): string {
    return this.api.arnForExecuteApi('GET', `/${TOKEN_PATH}`, TOKEN_API_STAGE);
  }

  /**
   * Lets a principal defined in (or imported into) this CDK app call `GET /token`: an IAM policy on
   * the principal, and — for a role or user of this stack or imported by ARN — its ARN in the
   * resource policy's allow-list. A principal of another stack only gets the IAM policy (naming it
   * here would make the two stacks depend on each other), so it must be in the deploying account
   * with allowDeployingAccount on, or be listed in api.allowedPrincipalArns.
   */
  grantGetToken(grantee: iam.IGrantable): iam.Grant {
    this.allowInResourcePolicy(grantee);
    return iam.Grant.addToPrincipal({ grantee, actions: [INVOKE], resourceArns: [this.tokenInvokeArn] });
  }

  /** Like grantGetToken, for proxy mode's `GET|POST /throughline/*` (addProxyRoute must have run). */
  grantProxy(grantee: iam.IGrantable): iam.Grant {
    if (this.proxyMethods.length === 0) {
      throw new Error('TokenApi.grantProxy: the API has no proxy route; set proxy.enabled to true');
    }
    this.allowInResourcePolicy(grantee);
    return iam.Grant.addToPrincipal({ grantee, actions: [INVOKE], resourceArns: this.proxyInvokeArns });
  }

  private allowInResourcePolicy(grantee: iam.IGrantable): void {
    const principal = grantee.grantPrincipal;
    const arn = principalArnOf(principal);
    // A literal ARN (imported role) or a role of this stack can be named; a role of another stack
    // cannot without making the stacks depend on each other in both directions.
    const nameable =
      arn !== undefined &&
      (!Token.isUnresolved(arn) || Stack.of(principal as unknown as IConstruct) === Stack.of(this));
    if (nameable) {
      this.resourcePolicy.allowPrincipal(arn);
    } else if (!this.props.config.allowDeployingAccount) {
      throw new Error(
        'TokenApi.grantGetToken: this principal is not in the API stack, so it cannot be added to the resource policy; list its ARN in api.allowedPrincipalArns (or set api.allowDeployingAccount to true for same-account principals)',
      );
    }
  }
}

function principalArnOf(principal: iam.IPrincipal): string | undefined {
  if ('roleArn' in principal && typeof principal.roleArn === 'string') return principal.roleArn;
  if ('userArn' in principal && typeof principal.userArn === 'string') return principal.userArn;
  return undefined;
}
