import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { METRIC_NAMESPACE } from '../../contract/metric-names';

/**
 * Keys whose values are never written to a log line, whatever object they turn up in. The code
 * does not log such values in the first place; this is the second line of defence.
 */
const REDACTED_KEYS = new Set([
  'access_token',
  'accesstoken',
  'client_secret',
  'clientsecret',
  'secret',
  'secretstring',
  'authorization',
  'plaintext',
  'password',
  'refresh_token',
  'id_token',
]);

export function redactingReplacer(key: string, value: unknown): unknown {
  if (REDACTED_KEYS.has(key.toLowerCase()) && value !== undefined && value !== null) return '[REDACTED]';
  return value;
}

/** Structured JSON logger (service name from POWERTOOLS_SERVICE_NAME, set by the stack). */
export function createLogger(): Logger {
  return new Logger({ jsonReplacerFn: redactingReplacer });
}

/** EMF metrics in the broker's namespace; the service dimension is the stack (one per upstream application). */
export function createMetrics(): Metrics {
  return new Metrics({ namespace: METRIC_NAMESPACE });
}
