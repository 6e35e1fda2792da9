import {
  type CloudTrailClient,
  DescribeTrailsCommand,
  GetEventSelectorsCommand,
  type GetEventSelectorsCommandOutput,
  GetTrailStatusCommand,
  type Trail,
} from '@aws-sdk/client-cloudtrail';

/**
 * Whether CloudTrail can feed the broker's EventBridge rules in a region. EventBridge receives "AWS
 * API Call via CloudTrail" events only for API calls that a trail with logging on records in that
 * region (EventBridge User Guide, "AWS service events delivered via AWS CloudTrail", and CloudTrail User Guide, "Working with
 * CloudTrail trails"). The secret-read rule needs read-only management events (GetSecretValue), the
 * function-change rule write events (UpdateFunctionCode…). A trail covers a region when it lives there
 * or is multi-region (DescribeTrails with shadow trails lists both).
 */

export interface TrailFinding {
  readonly name: string;
  readonly logging: boolean | 'unknown';
  readonly reads: boolean;
  readonly writes: boolean;
  readonly problem?: string;
}

export interface TrailCoverage {
  readonly region: string;
  readonly trails: readonly TrailFinding[];
  /** Some active trail records read-only management events: UnexpectedSecretRead can fire. */
  readonly seesReads: boolean;
  /** Some active trail records write management events: CredentialReaderChanged can fire. */
  readonly seesWrites: boolean;
}

type Send = Pick<CloudTrailClient, 'send'>;

/** Which management events (read, write) the trail's event selectors record. */
export function managementEventsOf(selectors: GetEventSelectorsCommandOutput): {
  reads: boolean;
  writes: boolean;
} {
  let reads = false;
  let writes = false;
  for (const selector of selectors.EventSelectors ?? []) {
    if (selector.IncludeManagementEvents === false) continue;
    const type = selector.ReadWriteType ?? 'All';
    if (type === 'All' || type === 'ReadOnly') reads = true;
    if (type === 'All' || type === 'WriteOnly') writes = true;
  }
  for (const selector of selectors.AdvancedEventSelectors ?? []) {
    const fields = selector.FieldSelectors ?? [];
    const category = fields.find((f) => f.Field === 'eventCategory');
    if (!category?.Equals?.includes('Management')) continue;
    const readOnly = fields.find((f) => f.Field === 'readOnly');
    const only = readOnly?.Equals?.[0];
    if (only === undefined || only === 'true') reads = true;
    if (only === undefined || only === 'false') writes = true;
  }
  return { reads, writes };
}

const nameOf = (error: unknown) => {
  const name = (error as { name?: unknown })?.name;
  return typeof name === 'string' && /^[A-Za-z][\w.]{0,63}$/.test(name) ? name : 'Error';
};

export async function checkTrailCoverage(cloudTrail: Send, region: string): Promise<TrailCoverage> {
  const { trailList = [] } = await cloudTrail.send(new DescribeTrailsCommand({ includeShadowTrails: true }));
  const covering = trailList.filter((t: Trail) => t.HomeRegion === region || t.IsMultiRegionTrail === true);
  const trails: TrailFinding[] = [];
  for (const trail of covering) {
    const id = trail.TrailARN ?? trail.Name ?? 'unnamed';
    const name = trail.Name ?? id;
    try {
      const status = await cloudTrail.send(new GetTrailStatusCommand({ Name: id }));
      const selectors = await cloudTrail.send(new GetEventSelectorsCommand({ TrailName: id }));
      trails.push({ name, logging: status.IsLogging === true, ...managementEventsOf(selectors) });
    } catch (error) {
      // e.g. an organisation trail this principal may not inspect: report it, do not count on it.
      trails.push({ name, logging: 'unknown', reads: false, writes: false, problem: nameOf(error) });
    }
  }
  const active = trails.filter((t) => t.logging === true);
  return {
    region,
    trails,
    seesReads: active.some((t) => t.reads),
    seesWrites: active.some((t) => t.writes),
  };
}

/** What `broker doctor` prints, one line each; the verdict lines say plainly when an alarm is blind. */
export function describeCoverage(coverage: TrailCoverage): string[] {
  const lines = coverage.trails.map(
    (t) =>
      `trail ${t.name}: ${t.logging === 'unknown' ? `could not be checked (${t.problem})` : t.logging ? 'logging' : 'NOT logging'}` +
      (t.logging === true
        ? `, management events: ${[t.reads && 'read', t.writes && 'write'].filter(Boolean).join(' and ') || 'none'}`
        : ''),
  );
  if (coverage.trails.length === 0) lines.push(`No CloudTrail trail covers ${coverage.region}.`);
  lines.push(
    coverage.seesReads
      ? `UnexpectedSecretRead: can fire (an active trail records read management events in ${coverage.region}).`
      : `UnexpectedSecretRead is BLIND: no active trail records read-only management events in ${coverage.region}, so EventBridge never sees GetSecretValue.`,
    coverage.seesWrites
      ? `CredentialReaderChanged: can fire (an active trail records write management events in ${coverage.region}).`
      : `CredentialReaderChanged is BLIND: no active trail records write management events in ${coverage.region}.`,
  );
  if (!coverage.seesReads || !coverage.seesWrites) {
    lines.push(
      'Fix: set "monitoring": {"createManagementTrail": true} in the stage config and redeploy, or create (or start) a trail that logs all management events in this region.',
    );
  }
  return lines;
}
