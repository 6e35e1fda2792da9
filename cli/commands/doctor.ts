import { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import type { Command } from 'commander';
import { BrokerConnection } from '../broker-connection';
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
      const connection = BrokerConnection.of(command, io);
      const region = connection.requireRegion('No region: pass --region or set AWS_REGION');
      const cloudTrail = new CloudTrailClient(connection.clientConfig('CLOUDTRAIL'));
      const coverage = await checkTrailCoverage(cloudTrail, region);
      for (const line of describeCoverage(coverage)) io.out(line);
      if (!coverage.seesReads || !coverage.seesWrites) {
        throw new Error(`a security alarm is blind in ${region}: see above`);
      }
    });
}
