import type { Command } from 'commander';
import { MintTokenInvoker } from '../../lambda/core/mint-token-invoker';
import { createAwsClients } from '../aws-clients';
import type { CliIo } from '../io';
import { loadBrokerTarget } from '../operations/broker-target';
import { describeTime, TokenAdmin } from '../operations/token-admin';
import { type GlobalOptions, globalOptions } from '../program';

/** Builds the TokenAdmin for the broker the global options point at. */
export async function tokenAdminFor(options: GlobalOptions, io: CliIo): Promise<TokenAdmin> {
  const clients = createAwsClients(options.region ?? io.env.AWS_REGION ?? io.env.AWS_DEFAULT_REGION, io.env);
  const target = await loadBrokerTarget(options, clients.cloudFormation);
  return new TokenAdmin(new MintTokenInvoker(clients.lambda, target.mintTokenFunctionName));
}

/**
 * `token refresh [--force]` and `token flush`: operator actions on the token cache. Neither prints a
 * token: they report its metadata (mint time, expiry, credential version).
 */
export function registerTokenOpsCommands(token: Command, io: CliIo): void {
  token
    .command('refresh')
    .description(
      'Make the cache hold a fresh token now (mints only if the cached one is past its refresh point)',
    )
    .option('--force', 'mint a new token even if the cached one is fresh', false)
    .action(async (options: { force: boolean }, command: Command) => {
      const admin = await tokenAdminFor(globalOptions(command), io);
      const result = await admin.refresh(options.force);
      if (result.outcome === 'fresh') {
        io.out(
          `The cached token is fresh: minted ${describeTime(result.mintedAt)}, refresh due ${describeTime(result.refreshAt)}, expires ${describeTime(result.expiresAt)}, credentials version ${result.credentialVersionId}. Nothing to do (--force mints anyway).`,
        );
        return;
      }
      io.out(
        `Minted a new token (${result.why.replace(/_/g, ' ')}, ${result.attempts} attempt${result.attempts === 1 ? '' : 's'}): expires ${describeTime(result.expiresAt)}, credentials version ${result.credentialVersionId}.`,
      );
    });

  token
    .command('flush')
    .description('Delete the cached token (e.g. after a credentials leak); the next request mints a new one')
    .action(async (_options: unknown, command: Command) => {
      const admin = await tokenAdminFor(globalOptions(command), io);
      const removed = await admin.flush();
      io.out(
        removed
          ? 'Removed the cached token. The next request mints a new one; serve-token instances drop their in-memory copy within their staleness bound.'
          : 'The token cache was already empty.',
      );
    });
}
