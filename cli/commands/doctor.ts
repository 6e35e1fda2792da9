import { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import type { Command } from 'commander';
import { globalOptions } from '../global-options';
import type { CliIo } from '../io';
import { checkTrailCoverage, describeCoverage } from '../operations/trail-check';

/** `broker doctor`: checks what the broker's alarms depend on outside the stack (today: CloudTrail). */
export function registerDoctorCommand(program: Command, io: CliIo): void {
  program
    .command('doctor')
    .description(
      'Check that CloudTrail feeds the security alarms in the region (says plainly when one is blind)',
    )
    .action(async (_options: unknown, command: Command) => {
      const options = globalOptions(command);
      const region = options.region ?? io.env.AWS_REGION ?? io.env.AWS_DEFAULT_REGION;
      if (!region) throw new Error('No region: pass --region or set AWS_REGION');
      const endpoint = io.env.AWS_ENDPOINT_URL_CLOUDTRAIL ?? io.env.AWS_ENDPOINT_URL;
      const cloudTrail = new CloudTrailClient({ region, ...(endpoint ? { endpoint } : {}) });
      const coverage = await checkTrailCoverage(cloudTrail, region);
      for (const line of describeCoverage(coverage)) io.out(line);
      if (!coverage.seesReads || !coverage.seesWrites) {
        throw new Error(`a security alarm is blind in ${region}: see above`);
      }
    });
}
