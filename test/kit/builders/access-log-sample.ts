import { accessLogFormat } from '../../../lib/constructs/access-log-format';

/**
 * Renders access-log lines exactly as API Gateway would from the API's real format string
 * (lib/constructs/access-log-format.ts): each $context variable is replaced by its value, and a
 * variable without a value by "-", which is what API Gateway writes for it.
 */

export interface SampleRequest {
  /** IAM ARN of the SigV4 caller; undefined for an unsigned or badly signed request. */
  readonly caller?: string;
  readonly callerAccount?: string;
  readonly sourceIp?: string;
  readonly status: number;
  /** undefined when the request never reached the integration (refused at authorization). */
  readonly integrationLatency?: number;
  readonly errorType?: string;
}

let requestCounter = 0;

/** Every $context variable the format uses, with this request's value (undefined: no value). */
export function contextValues(request: SampleRequest): Record<string, string | number | undefined> {
  requestCounter++;
  return {
    '$context.requestId': `req-${requestCounter}`,
    '$context.requestTimeEpoch': 1_767_225_600_000 + requestCounter,
    '$context.identity.userArn': request.caller,
    '$context.identity.accountId': request.callerAccount,
    '$context.identity.sourceIp': request.sourceIp ?? '10.1.2.3',
    '$context.identity.userAgent': 'aws-sdk-js/3.0 broker-client',
    '$context.identity.vpceId': undefined,
    '$context.httpMethod': 'GET',
    '$context.resourcePath': '/token',
    '$context.status': request.status,
    '$context.responseLatency': 12,
    '$context.integration.latency': request.integrationLatency,
    '$context.error.responseType': request.errorType,
    '$context.waf.status': undefined,
  };
}

export function renderAccessLogLine(request: SampleRequest): string {
  const values = contextValues(request);
  return accessLogFormat()
    .toString()
    .replace(/\$context(?:\.[A-Za-z0-9]+)+/g, (variable) => {
      if (!(variable in values)) {
        throw new Error(`The access-log format uses ${variable}, which the sample request does not define`);
      }
      const value = values[variable];
      return value === undefined ? '-' : String(value);
    });
}

/** A request an allowed caller makes and gets a token for. */
export const served = (caller: string): SampleRequest => ({
  caller,
  callerAccount: caller.split(':')[4],
  status: 200,
  integrationLatency: 9,
});

/** A request the resource policy refuses: signed by a real principal that is not allowed. */
export const refusedPrincipal = (caller: string): SampleRequest => ({
  caller,
  callerAccount: caller.split(':')[4],
  status: 403,
  errorType: 'ACCESS_DENIED',
});

/** A request without a valid signature: API Gateway knows no caller. */
export const unsigned = (sourceIp: string): SampleRequest => ({
  sourceIp,
  status: 403,
  errorType: 'MISSING_AUTHENTICATION_TOKEN',
});
