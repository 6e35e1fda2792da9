import type { Command } from 'commander';
import { BrokerConnection } from '../broker-connection';
import type { CliIo } from '../io';
import { describeUsage } from '../operations/usage-report';

/**
 * `broker usage [--json]`: proxy mode's calls to ThroughLine in the rolling 24 hours by consumer,
 * against the daily quota, the reserve and each share, from mint-token's operator alias (which
 * reads the quota ledger; nothing is minted and ThroughLine is not asked). Never prints a token.
 */
export function registerUsageCommand(program: Command, io: CliIo): void {
  program
    .command('usage')
    .description(
      "Show the rolling 24 hours' calls to ThroughLine by consumer (proxy mode): calls, shares, what is left",
    )
    .option('--json', 'print the answer as JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      const report = await (await BrokerConnection.of(command, io).admins()).tokens.usage();
      if (options.json) {
        io.out(JSON.stringify(report, null, 2));
        return;
      }
      for (const line of describeUsage(report)) io.out(line);
    });
}
