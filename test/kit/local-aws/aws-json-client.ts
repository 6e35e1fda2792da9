import { MOTO_REGION } from './moto';

/**
 * A minimal AWS JSON-protocol client for moto_server, for services whose SDK client this project
 * does not depend on (EventBridge, SQS). moto does not check signatures; the credential scope in the
 * Authorization header only tells it the region.
 */
export async function awsJson<T = Record<string, unknown>>(
  endpoint: string,
  service: { readonly name: string; readonly targetPrefix: string; readonly jsonVersion: '1.0' | '1.1' },
  action: string,
  body: Record<string, unknown>,
): Promise<T> {
  const response = await fetch(endpoint, {
    method: 'POST',
    headers: {
      'Content-Type': `application/x-amz-json-${service.jsonVersion}`,
      'X-Amz-Target': `${service.targetPrefix}.${action}`,
      Authorization: `AWS4-HMAC-SHA256 Credential=testing/20260101/${MOTO_REGION}/${service.name}/aws4_request, SignedHeaders=host, Signature=0`,
    },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${service.name} ${action} failed (HTTP ${response.status}): ${text}`);
  return (text ? JSON.parse(text) : {}) as T;
}

export const EVENTS = { name: 'events', targetPrefix: 'AWSEvents', jsonVersion: '1.1' } as const;
export const SQS = { name: 'sqs', targetPrefix: 'AmazonSQS', jsonVersion: '1.0' } as const;
