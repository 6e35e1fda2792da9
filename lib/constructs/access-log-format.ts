import * as apigateway from 'aws-cdk-lib/aws-apigateway';

/**
 * The token API's JSON access-log record. Shared by the API (which writes it) and the Contributor
 * Insights rules and Logs Insights queries (which read it), so both agree on field names.
 * It has the caller's identity and the outcome, never a request or response body (so never a token).
 */
export const ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  requestTime: '$context.requestTimeEpoch',
  /** IAM principal ARN of the SigV4 caller (assumed-role session ARN for roles). */
  caller: '$context.identity.userArn',
  callerAccount: '$context.identity.accountId',
  sourceIp: '$context.identity.sourceIp',
  userAgent: '$context.identity.userAgent',
  vpceId: '$context.identity.vpceId',
  httpMethod: '$context.httpMethod',
  resourcePath: '$context.resourcePath',
  status: '$context.status',
  responseLatency: '$context.responseLatency',
  integrationLatency: '$context.integration.latency',
  errorType: '$context.error.responseType',
  wafResponse: '$context.waf.status',
} as const;

export type AccessLogField = keyof typeof ACCESS_LOG_FIELDS;

/**
 * Numeric fields are written unquoted so Logs Insights and Contributor Insights treat them as numbers.
 * Only fields API Gateway always fills: a missing value is written as "-", which unquoted would make
 * the record invalid JSON. integrationLatency is missing whenever the request never reached the
 * integration (403 from IAM or the resource policy, 429 from throttling), so it stays quoted.
 */
const NUMERIC_FIELDS = new Set<AccessLogField>(['requestTime', 'status', 'responseLatency']);

export function accessLogFormat(): apigateway.AccessLogFormat {
  const body = Object.entries(ACCESS_LOG_FIELDS)
    .map(([name, value]) =>
      NUMERIC_FIELDS.has(name as AccessLogField) ? `"${name}":${value}` : `"${name}":"${value}"`,
    )
    .join(',');
  return apigateway.AccessLogFormat.custom(`{${body}}`);
}
