import {
  DescribeTrailsCommand,
  GetEventSelectorsCommand,
  GetTrailStatusCommand,
} from '@aws-sdk/client-cloudtrail';
import { describe, expect, inject, it } from 'vitest';
import { checkTrailCoverage, describeCoverage } from '../../cli/operations/trail-check';
import { runCli, useMotoCredentials } from '../kit/runners/cli-harness';

const REGION = 'eu-west-2';

/** A CloudTrail API answering from a table of trails: name → { home, multi, logging, selectors | error }. */
function fakeCloudTrail(
  trails: Record<
    string,
    { home: string; multi?: boolean; logging?: boolean; selectors?: Record<string, unknown>; error?: string }
  >,
) {
  return {
    send: async (command: unknown) => {
      if (command instanceof DescribeTrailsCommand) {
        return {
          trailList: Object.entries(trails).map(([name, t]) => ({
            Name: name,
            TrailARN: `arn:aws:cloudtrail:${t.home}:111122223333:trail/${name}`,
            HomeRegion: t.home,
            IsMultiRegionTrail: t.multi ?? false,
          })),
        };
      }
      const id = String(
        (command as { input: { Name?: string; TrailName?: string } }).input.Name ??
          (command as { input: { TrailName?: string } }).input.TrailName,
      );
      const trail = trails[id.split('/').at(-1) as string];
      if (trail?.error) throw Object.assign(new Error('denied'), { name: trail.error });
      if (command instanceof GetTrailStatusCommand) return { IsLogging: trail?.logging ?? true };
      if (command instanceof GetEventSelectorsCommand) return trail?.selectors ?? {};
      throw new Error('unexpected command');
    },
  } as never;
}

const allManagement = { EventSelectors: [{ ReadWriteType: 'All', IncludeManagementEvents: true }] };

describe('broker doctor: does CloudTrail feed the security alarms?', () => {
  it('no trail in the region → both alarms are said to be blind, with the fix', async () => {
    const coverage = await checkTrailCoverage(
      fakeCloudTrail({ elsewhere: { home: 'us-east-1', selectors: allManagement } }),
      REGION,
    );

    expect(coverage).toMatchObject({ seesReads: false, seesWrites: false, trails: [] });
    const text = describeCoverage(coverage).join('\n');
    expect(text).toContain('UnexpectedSecretRead is BLIND');
    expect(text).toContain('CredentialReaderChanged is BLIND');
    expect(text).toContain('createManagementTrail');
  });

  it('a multi-region trail from another home region that logs all management events covers the region', async () => {
    const coverage = await checkTrailCoverage(
      fakeCloudTrail({ org: { home: 'us-east-1', multi: true, selectors: allManagement } }),
      REGION,
    );
    expect(coverage).toMatchObject({ seesReads: true, seesWrites: true });
    expect(describeCoverage(coverage).join('\n')).not.toContain('BLIND');
  });

  it('a write-only trail leaves the secret-read alarm blind', async () => {
    const coverage = await checkTrailCoverage(
      fakeCloudTrail({
        w: { home: REGION, selectors: { EventSelectors: [{ ReadWriteType: 'WriteOnly' }] } },
      }),
      REGION,
    );
    expect(coverage).toMatchObject({ seesReads: false, seesWrites: true });
  });

  it('a trail that is not logging counts for nothing', async () => {
    const coverage = await checkTrailCoverage(
      fakeCloudTrail({ off: { home: REGION, logging: false, selectors: allManagement } }),
      REGION,
    );
    expect(coverage).toMatchObject({ seesReads: false, seesWrites: false });
    expect(describeCoverage(coverage)[0]).toBe('trail off: NOT logging');
  });

  it('advanced selectors: management events with readOnly=true only', async () => {
    const coverage = await checkTrailCoverage(
      fakeCloudTrail({
        adv: {
          home: REGION,
          selectors: {
            AdvancedEventSelectors: [
              {
                FieldSelectors: [
                  { Field: 'eventCategory', Equals: ['Management'] },
                  { Field: 'readOnly', Equals: ['true'] },
                ],
              },
            ],
          },
        },
      }),
      REGION,
    );
    expect(coverage).toMatchObject({ seesReads: true, seesWrites: false });
  });

  it('a trail that cannot be inspected is reported, not counted', async () => {
    const coverage = await checkTrailCoverage(
      fakeCloudTrail({ org: { home: REGION, error: 'AccessDeniedException' } }),
      REGION,
    );
    expect(coverage.seesReads).toBe(false);
    expect(describeCoverage(coverage)[0]).toBe('trail org: could not be checked (AccessDeniedException)');
  });

  it('`broker doctor` against an account without a trail (moto) says the alarms are blind and fails', async () => {
    useMotoCredentials();
    const run = await runCli(['doctor', '--region', 'us-east-1'], {
      env: { AWS_ENDPOINT_URL: inject('motoEndpoint') },
    });
    expect(run.out.join('\n')).toContain('UnexpectedSecretRead is BLIND');
    expect(run.error?.message).toContain('a security alarm is blind');
  });
});
