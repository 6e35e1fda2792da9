import type { APIGatewayProxyEvent } from 'aws-lambda';

export interface TokenEventOptions {
  /** Query parameters; an array gives a repeated parameter. */
  readonly query?: Record<string, string | readonly string[]>;
  readonly callerArn?: string;
  readonly accountId?: string;
}

/** The API and stage the test events come from; serve-token's environment names it in the tests. */
export const TEST_API = { apiId: 'abc123', stage: 'v1' } as const;

export const DEFAULT_CALLER_ARN = 'arn:aws:sts::123456789012:assumed-role/orders-service/i-0abc';

/**
 * The proxy event API Gateway (REST, AWS_IAM) sends serve-token for `GET /token`: the identity
 * fields are the ones API Gateway fills from the verified SigV4 signature.
 */
export function tokenRequestEvent(options: TokenEventOptions = {}): APIGatewayProxyEvent {
  const entries = Object.entries(options.query ?? {}).map(
    ([k, v]) => [k, typeof v === 'string' ? [v] : [...v]] as const,
  );
  const multi = entries.length > 0 ? Object.fromEntries(entries) : null;
  const single =
    entries.length > 0 ? Object.fromEntries(entries.map(([k, v]) => [k, v[v.length - 1]])) : null;
  const accountId = options.accountId ?? '123456789012';
  return {
    resource: '/token',
    path: '/token',
    httpMethod: 'GET',
    headers: { Host: 'abc123.execute-api.us-east-1.amazonaws.com', 'User-Agent': 'test' },
    multiValueHeaders: {},
    queryStringParameters: single as APIGatewayProxyEvent['queryStringParameters'],
    multiValueQueryStringParameters: multi as APIGatewayProxyEvent['multiValueQueryStringParameters'],
    pathParameters: null,
    stageVariables: null,
    body: null,
    isBase64Encoded: false,
    requestContext: {
      accountId: '123456789012',
      apiId: TEST_API.apiId,
      authorizer: null,
      protocol: 'HTTP/1.1',
      httpMethod: 'GET',
      path: '/v1/token',
      stage: TEST_API.stage,
      requestId: `api-${Math.random().toString(36).slice(2)}`,
      requestTimeEpoch: Date.now(),
      resourceId: 'res123',
      resourcePath: '/token',
      identity: {
        accessKey: 'ASIAEXAMPLE',
        accountId,
        apiKey: null,
        apiKeyId: null,
        caller: 'AROAEXAMPLE:i-0abc',
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: '10.0.0.12',
        user: 'AROAEXAMPLE:i-0abc',
        userAgent: 'test',
        userArn: options.callerArn ?? DEFAULT_CALLER_ARN,
      },
    },
  };
}

export interface ProxyEventOptions {
  readonly method?: 'GET' | 'POST' | string;
  /** The `{proxy+}` value: the ThroughLine path without its leading slash, e.g. `v2/helplines`. */
  readonly path: string;
  readonly query?: Record<string, string | readonly string[]>;
  readonly headers?: Record<string, string>;
  readonly body?: string;
  readonly callerArn?: string;
  readonly accountId?: string;
}

/** The proxy event API Gateway (REST, AWS_IAM) sends proxy-throughline for `GET|POST /throughline/{proxy+}`. */
export function proxyRequestEvent(options: ProxyEventOptions): APIGatewayProxyEvent {
  const base = tokenRequestEvent({
    ...(options.query ? { query: options.query } : {}),
    ...(options.callerArn ? { callerArn: options.callerArn } : {}),
    ...(options.accountId ? { accountId: options.accountId } : {}),
  });
  const method = options.method ?? 'GET';
  return {
    ...base,
    resource: '/throughline/{proxy+}',
    path: `/throughline/${options.path}`,
    httpMethod: method,
    headers: { ...base.headers, ...options.headers },
    pathParameters: { proxy: options.path },
    body: options.body ?? null,
    requestContext: {
      ...base.requestContext,
      httpMethod: method,
      path: `/v1/throughline/${options.path}`,
      resourcePath: '/throughline/{proxy+}',
    },
  };
}
