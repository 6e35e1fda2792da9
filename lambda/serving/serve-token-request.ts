import type { APIGatewayProxyEvent } from 'aws-lambda';
import type { ServeTokenSettings } from '../../contract/broker-settings';
import { EnvVar } from '../../contract/env-vars';
import { FINGERPRINT_PATTERN } from '../../contract/token-fingerprint';

/**
 * A token request as serve-token understands it, from either way in: `GET /token` through API
 * Gateway (a proxy event) or a direct `lambda:InvokeFunction` with a small JSON payload.
 */
export interface ServeTokenRequest {
  /** The least remaining lifetime the caller accepts. */
  readonly minTtlSeconds: number;
  /** The caller reports ThroughLine rejected the token with this fingerprint (contract/token-fingerprint.ts). */
  readonly rejectedFingerprint?: string;
  readonly caller: CallerIdentity;
}

/** Who asked, for the audit log. Over the API, API Gateway fills it from the verified SigV4 identity. */
export type CallerIdentity =
  | {
      readonly channel: 'api';
      readonly arn: string | undefined;
      readonly accountId: string | undefined;
      readonly sourceIp: string | undefined;
      readonly vpceId: string | undefined;
      readonly apiRequestId: string | undefined;
    }
  | {
      /** Lambda does not tell a function who invoked it; CloudTrail data events do. */
      readonly channel: 'lambda-invoke';
      /**
       * The payload looked like an API Gateway event of another API or stage (or with none
       * configured): a direct invocation dressed up as one. Its claimed caller is not recorded.
       */
      readonly apiShaped?: true;
    };

/** The deployed API (id and stage) whose proxy events are recorded as API calls. */
export interface DeployedApi {
  readonly apiId: string;
  readonly stage: string;
}

/** The deployed API from the environment, or undefined when either value is missing. */
export function deployedApiFrom(env: NodeJS.ProcessEnv): DeployedApi | undefined {
  const apiId = env[EnvVar.TokenApiId];
  const stage = env[EnvVar.TokenApiStage];
  return apiId && stage ? { apiId, stage } : undefined;
}

/** The direct-invocation payload: `{}`, `{"min_ttl": 120}`, `{"rejected": "<fingerprint>"}`. */
export interface DirectTokenRequest {
  readonly min_ttl?: number;
  readonly rejected?: string;
}

/** A request the caller must change: becomes a 400 (API) or an `invalid_request` result (direct). */
export class InvalidTokenRequestError extends Error {
  override readonly name = 'InvalidTokenRequestError';
}

/** An API-shaped payload not from the deployed API: answered as an invalid direct request. */
export class ApiShapedDirectInvocationError extends InvalidTokenRequestError {
  readonly caller = { channel: 'lambda-invoke', apiShaped: true } as const satisfies CallerIdentity;
}

function isFromDeployedApi(event: APIGatewayProxyEvent, api: DeployedApi | undefined): boolean {
  return (
    api !== undefined && event.requestContext.apiId === api.apiId && event.requestContext.stage === api.stage
  );
}

/** An API Gateway proxy event of the deployed API and stage: the only events answered as API calls. */
export function isDeployedApiEvent(
  event: unknown,
  api: DeployedApi | undefined,
): event is APIGatewayProxyEvent {
  return isApiGatewayEvent(event) && isFromDeployedApi(event, api);
}

const MIN_TTL = 'min_ttl';
/** Query parameter / payload field of a rejected token's fingerprint. */
export const REJECTED = 'rejected';
const REJECTED_MESSAGE = `${REJECTED} must be the 16 lower-case hex digits of the rejected token's fingerprint (the start of its SHA-256)`;

export function isApiGatewayEvent(event: unknown): event is APIGatewayProxyEvent {
  return (
    typeof event === 'object' &&
    event !== null &&
    'httpMethod' in event &&
    'requestContext' in event &&
    typeof (event as { requestContext: unknown }).requestContext === 'object'
  );
}

/**
 * Lambda does not tell a function who invoked it, and anyone allowed to invoke serve-token directly
 * can send an API-shaped payload naming any caller. Only an event of the deployed API and stage is
 * taken as an API call; any other API-shaped event is a direct invocation (`apiShaped`) and is
 * rejected, so its claimed caller never reaches the audit line as an API caller. (A direct invoker
 * who copies the API id and stage can still pass this check: see docs/security.md.)
 */
export function parseServeTokenRequest(
  event: unknown,
  settings: ServeTokenSettings,
  deployedApi?: DeployedApi,
): ServeTokenRequest {
  if (isApiGatewayEvent(event) && !isFromDeployedApi(event, deployedApi)) {
    throw new ApiShapedDirectInvocationError(
      'A direct invocation sent an API Gateway event: send {} or {"min_ttl": <seconds>}, or call GET /token',
    );
  }
  if (isApiGatewayEvent(event)) {
    const identity = event.requestContext.identity;
    const rejected = rejectedFromQuery(event);
    return {
      minTtlSeconds: minTtlFromQuery(event, settings),
      ...(rejected ? { rejectedFingerprint: rejected } : {}),
      caller: {
        channel: 'api',
        arn: identity?.userArn ?? undefined,
        accountId: identity?.accountId ?? undefined,
        sourceIp: identity?.sourceIp ?? undefined,
        vpceId: (identity as { vpceId?: string } | undefined)?.vpceId ?? undefined,
        apiRequestId: event.requestContext.requestId,
      },
    };
  }
  const rejected = rejectedFromPayload(event);
  return {
    minTtlSeconds: minTtlFromPayload(event, settings),
    ...(rejected ? { rejectedFingerprint: rejected } : {}),
    caller: { channel: 'lambda-invoke' },
  };
}

function rangeMessage(settings: ServeTokenSettings): string {
  return `min_ttl must be a whole number of seconds from 0 to ${settings.maxMinTtlSeconds}; omit it for the default of ${settings.defaultMinTtlSeconds}`;
}

function minTtlFromQuery(event: APIGatewayProxyEvent, settings: ServeTokenSettings): number {
  // The multi-value map shows repeated parameters, which the single-value map silently collapses.
  const multi = event.multiValueQueryStringParameters ?? {};
  const single = event.queryStringParameters ?? {};
  const names = new Set([...Object.keys(multi), ...Object.keys(single)]);
  names.delete(MIN_TTL);
  names.delete(REJECTED);
  if (names.size > 0) {
    // Names are not echoed back: they are caller-controlled text.
    throw new InvalidTokenRequestError(
      `GET /token accepts only the query parameters ${MIN_TTL} and ${REJECTED}; remove the others`,
    );
  }
  const values = multi[MIN_TTL] ?? (single[MIN_TTL] !== undefined ? [single[MIN_TTL]] : []);
  if (values.length === 0) return settings.defaultMinTtlSeconds;
  if (values.length > 1)
    throw new InvalidTokenRequestError(`${MIN_TTL} is given more than once; give it once`);
  const text = values[0] ?? '';
  if (!/^\d{1,7}$/.test(text)) throw new InvalidTokenRequestError(rangeMessage(settings));
  return checkRange(Number(text), settings);
}

function minTtlFromPayload(event: unknown, settings: ServeTokenSettings): number {
  if (event === undefined || event === null) return settings.defaultMinTtlSeconds;
  if (typeof event !== 'object' || Array.isArray(event)) {
    throw new InvalidTokenRequestError('The payload must be a JSON object: {} or {"min_ttl": <seconds>}');
  }
  const payload = event as Record<string, unknown>;
  if (Object.keys(payload).some((k) => k !== MIN_TTL && k !== REJECTED)) {
    throw new InvalidTokenRequestError(
      'The payload accepts only "min_ttl" and "rejected": send {} or {"min_ttl": <seconds>}',
    );
  }
  const value = payload[MIN_TTL];
  if (value === undefined) return settings.defaultMinTtlSeconds;
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new InvalidTokenRequestError(rangeMessage(settings));
  }
  return checkRange(value, settings);
}

function rejectedFromQuery(event: APIGatewayProxyEvent): string | undefined {
  const multi = event.multiValueQueryStringParameters?.[REJECTED];
  const single = event.queryStringParameters?.[REJECTED];
  const values = multi ?? (single !== undefined ? [single] : []);
  if (values.length === 0) return undefined;
  if (values.length > 1)
    throw new InvalidTokenRequestError(`${REJECTED} is given more than once; give it once`);
  if (!FINGERPRINT_PATTERN.test(values[0] ?? '')) throw new InvalidTokenRequestError(REJECTED_MESSAGE);
  return values[0];
}

function rejectedFromPayload(event: unknown): string | undefined {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) return undefined;
  const value = (event as Record<string, unknown>)[REJECTED];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !FINGERPRINT_PATTERN.test(value))
    throw new InvalidTokenRequestError(REJECTED_MESSAGE);
  return value;
}

function checkRange(value: number, settings: ServeTokenSettings): number {
  if (value < 0 || value > settings.maxMinTtlSeconds)
    throw new InvalidTokenRequestError(rangeMessage(settings));
  return value;
}
