import type { Command } from 'commander';
import { MintDeferredError } from '../../lambda/aws/mint-token-invoker';
import { BrokerConnection } from '../broker-connection';
import type { CliIo } from '../io';
import { describeGate, describeTime, type TokenAdmin } from '../operations/token-admin';

/** The TokenAdmin of the broker the global options point at. */
async function tokenAdmin(command: Command, io: CliIo): Promise<TokenAdmin> {
  return (await BrokerConnection.of(command, io).admins()).tokens;
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
    .option(
      '--override-gate',
      'call ThroughLine even while the upstream gate is closed (backoff, Retry-After, daily budget); needs --reason',
      false,
    )
    .option('--reason <text>', 'why the gate is overridden (logged and counted; raises a ticket)')
    .action(async (options: { force: boolean; overrideGate: boolean; reason?: string }, command: Command) => {
      if (options.overrideGate && (options.reason === undefined || options.reason.trim().length < 3)) {
        throw new Error(
          '--override-gate needs --reason "<why>" (at least 3 characters): overrides are logged and raise a ticket',
        );
      }
      if (!options.overrideGate && options.reason !== undefined) {
        throw new Error('--reason is only used with --override-gate');
      }
      const admin = await tokenAdmin(command, io);
      let result: Awaited<ReturnType<TokenAdmin['refresh']>>;
      try {
        result = await admin.refresh({
          force: options.force,
          ...(options.overrideGate ? { overrideReason: (options.reason as string).trim() } : {}),
        });
      } catch (error) {
        if (!(error instanceof MintDeferredError)) throw error;
        const retryAt = Math.floor(Date.now() / 1000) + error.retryAfterSeconds;
        throw new Error(
          `${error.message}. ThroughLine may be tried again at ${describeTime(retryAt)}. To call it anyway (an outage is over, the credentials were fixed): token refresh --override-gate --reason "<why>".`,
        );
      }
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
    .command('status')
    .description(
      'Show the cached token (metadata only) and the upstream gate: open or closed, until when, why',
    )
    .action(async (_options: unknown, command: Command) => {
      const admin = await tokenAdmin(command, io);
      const { cached, gate } = await admin.status();
      io.out(
        cached
          ? `Cached token: minted ${describeTime(cached.mintedAt)}, refresh due ${describeTime(cached.refreshAt)}, expires ${describeTime(cached.expiresAt)}, credentials version ${cached.credentialVersionId}.`
          : 'The token cache is empty.',
      );
      if (gate) io.out(describeGate(gate));
    });

  token
    .command('flush')
    .description('Delete the cached token (e.g. after a credentials leak); the next request mints a new one')
    .action(async (_options: unknown, command: Command) => {
      const admin = await tokenAdmin(command, io);
      const removed = await admin.flush();
      io.out(
        removed
          ? 'Removed the cached token. The next request mints a new one; serve-token instances drop their in-memory copy within their staleness bound.'
          : 'The token cache was already empty.',
      );
    });
}
