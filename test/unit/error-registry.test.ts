import { describe, expect, it } from 'vitest';
import {
  MINT_ERRORS,
  operatorGuidance,
  PERMANENT_MINT_ERROR_NAMES,
  WORKFLOW_RETRIED_ERROR_NAMES,
} from '../../contract/error-registry';
import { PERMANENT_MINT_ERRORS } from '../../lambda/aws/mint-token-invoker';
import * as errors from '../../lambda/errors/broker-errors';
import { MintTokenRequestError } from '../../lambda/minting/mint-token-request';
import { SettingsError } from '../../lambda/runtime/settings';
import { TRANSIENT_ERRORS } from '../../lib/constructs/refresh-workflow';

/** One registry of mint-token's errors; every list that names them is derived from it. */

/** The BrokerError subclasses errors.ts exports. */
const brokerErrorClasses = (Object.values(errors) as unknown[]).filter(
  (value) =>
    typeof value === 'function' && (value as { prototype: unknown }).prototype instanceof errors.BrokerError,
) as (new (
  message: string,
) => errors.BrokerError)[];

describe('the mint error registry', () => {
  it('has one entry per error class, with the class’s own reason and retryability', () => {
    const instances = brokerErrorClasses.map(
      (Class) => new (Class as unknown as new (m: string) => errors.BrokerError)('x'),
    );
    const plain = [new MintTokenRequestError('x'), new SettingsError('x')];
    expect([...instances, ...plain].map((e) => e.name).sort()).toEqual(Object.keys(MINT_ERRORS).sort());
    for (const error of instances) {
      const entry = MINT_ERRORS[error.name as keyof typeof MINT_ERRORS];
      expect([error.reason, error.retryable], error.name).toEqual([entry.reason, entry.retryable]);
    }
  });

  it('derives the invoker’s permanent list and the workflow’s retry list', () => {
    expect([...PERMANENT_MINT_ERRORS].sort()).toEqual([...PERMANENT_MINT_ERROR_NAMES].sort());
    expect(PERMANENT_MINT_ERRORS.has('InvalidClientError')).toBe(true);
    expect(PERMANENT_MINT_ERRORS.has('UpstreamUnavailableError')).toBe(false);
    // The workflow retries the cache's transient errors, never ThroughLine's (the gate decides those).
    expect(WORKFLOW_RETRIED_ERROR_NAMES).toEqual(['TokenCacheError']);
    expect(TRANSIENT_ERRORS).toEqual(expect.arrayContaining([...WORKFLOW_RETRIED_ERROR_NAMES]));
    expect(TRANSIENT_ERRORS).not.toContain('UpstreamUnavailableError');
  });

  it('gives on-call advice for every permanent error, in text a States.Format template can hold', () => {
    const advice = operatorGuidance();
    for (const name of PERMANENT_MINT_ERROR_NAMES)
      expect(
        advice.some((a) => a.startsWith(`${name} - `)),
        name,
      ).toBe(true);
    for (const line of advice) expect(line).not.toMatch(/['{}\\]/);
  });
});
