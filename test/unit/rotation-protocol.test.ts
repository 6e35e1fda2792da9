import { describe, expect, it } from 'vitest';
import { formatProgress, parseProgress, type RotationProgress } from '../../contract/rotation-progress';
import { parseRotationEvent } from '../../lambda/rotation/rotation-event';

const TOKEN = '2f0e8a4c-6b1d-4c3e-9a7f-1e2d3c4b5a69';

describe('rotation event', () => {
  it('accepts what Secrets Manager sends', () => {
    expect(parseRotationEvent({ SecretId: 'arn:x', ClientRequestToken: TOKEN, Step: 'testSecret' })).toEqual({
      SecretId: 'arn:x',
      ClientRequestToken: TOKEN,
      Step: 'testSecret',
    });
  });

  it('keeps the RotationToken Secrets Manager sends (since 2025), and accepts events without one', () => {
    expect(
      parseRotationEvent({
        SecretId: 'arn:x',
        ClientRequestToken: TOKEN,
        Step: 'createSecret',
        RotationToken: 'rt-1',
      }),
    ).toMatchObject({ RotationToken: 'rt-1' });
    expect(
      parseRotationEvent({ SecretId: 'arn:x', ClientRequestToken: TOKEN, Step: 'createSecret' }),
    ).not.toHaveProperty('RotationToken');
    expect(() =>
      parseRotationEvent({
        SecretId: 'arn:x',
        ClientRequestToken: TOKEN,
        Step: 'createSecret',
        RotationToken: 7,
      }),
    ).toThrow(/"RotationToken", when present, must be a non-empty string/);
  });

  it('names every problem of a wrong event at once', () => {
    expect(() => parseRotationEvent({ ClientRequestToken: 'short', Step: 'rotate' })).toThrow(
      /"SecretId" is missing; "ClientRequestToken" must be a version id .*; "Step" must be one of createSecret, setSecret, testSecret, finishSecret/,
    );
    expect(() => parseRotationEvent('createSecret')).toThrow(/expects a Secrets Manager rotation event/);
  });
});

describe('rotation progress tag', () => {
  const progress: RotationProgress = {
    token: TOKEN,
    step: 'testSecret',
    status: 'failed',
    error: 'StagedCredentialsTestFailedError',
    upstreamError: 'InvalidClientError',
    retryable: false,
    at: '2026-11-30T03:00:00.000Z',
  };

  it('round-trips, within the characters and length a tag value allows', () => {
    const value = formatProgress(progress);

    expect(value).toMatch(/^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u);
    expect(value.length).toBeLessThanOrEqual(256);
    expect(parseProgress(value)).toEqual(progress);
  });

  it('ignores values it did not write', () => {
    expect(parseProgress(undefined)).toBeUndefined();
    expect(parseProgress('something else')).toBeUndefined();
    expect(parseProgress(`token=${TOKEN} step=explode status=done`)).toBeUndefined();
  });
});
