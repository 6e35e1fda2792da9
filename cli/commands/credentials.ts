import { type Command, InvalidArgumentError, Option } from 'commander';
import { type ClientCredentials, STAGED_LABEL } from '../../contract/credentials-secret';
import type { RotationStep } from '../../contract/rotation-progress';
import { BrokerConnection } from '../broker-connection';
import { parseCredentialsInput } from '../credentials-input';
import { type PromptTerminal, promptCredentialsLines } from '../hidden-prompt';
import type { CliIo } from '../io';
import {
  type CredentialAdmin,
  RotationInProgressError,
  type RotationOutcome,
} from '../operations/credential-admin';
import { describeTime, type TokenAdmin } from '../operations/token-admin';

/** A credential was given on the command line. The message never repeats what was given. */
export class CredentialsOnCommandLineError extends Error {
  override readonly name = 'CredentialsOnCommandLineError';
}

export interface CredentialsCommandDeps {
  /** The terminal to prompt on when standard input is one (default: process.stdin / process.stderr). */
  readonly terminal?: PromptTerminal;
}

const STEP_DONE: Record<RotationStep, string> = {
  createSecret:
    'createSecret: the staged credentials are well-formed, differ from the current ones, and were copied into the rotation version',
  setSecret: 'setSecret: nothing to set at ThroughLine (its dashboard issued the credentials)',
  testSecret: 'testSecret: ThroughLine issued a token for the new credentials (token discarded)',
  finishSecret: 'finishSecret: the new credentials are AWSCURRENT and the token cache was refreshed',
};

/**
 * `credentials set | rotate | rollback | status`. New credentials are read from standard input (JSON
 * or two lines) or, on a terminal, from a prompt that does not echo the secret — never from argv or
 * the environment, where they would end up in shell history, process listings and CI logs.
 */
export function registerCredentialsCommands(
  credentials: Command,
  io: CliIo,
  deps: CredentialsCommandDeps = {},
): void {
  const readCredentials = async (): Promise<ClientCredentials> => {
    const text = io.stdinIsTty
      ? await promptCredentialsLines(deps.terminal ?? { input: process.stdin, output: process.stderr })
      : await io.readStdin();
    return parseCredentialsInput(text);
  };

  refusingArguments(
    credentials
      .command('set')
      .description(
        'Put the first ThroughLine credentials in (replacing the deploy-time placeholder) and mint a token with them',
      )
      .option('--replace', 'overwrite AWSCURRENT untested even though credentials were set before', false),
  ).action(async (options: { replace: boolean }, command: Command) => {
    refuseCommandLineCredentials(command);
    const creds = await readCredentials();
    const { admin, tokens } = await adminsFor(command, io);
    const versionId = await admin.setInitial(
      creds,
      options.replace,
      async (currentVersionId) =>
        (await tokens.describe().catch(() => null))?.credentialVersionId === currentVersionId,
    );
    io.out(`Stored the credentials as version ${versionId} (AWSCURRENT) of ${admin.secretArn}.`);
    try {
      const minted = await tokens.refresh(false);
      io.out(
        `ThroughLine issued a token with them: expires ${describeTime(minted.expiresAt)}, credentials version ${minted.credentialVersionId}.`,
      );
    } catch (error) {
      throw new Error(
        `The credentials are stored, but minting a token with them failed — ${(error as Error).message}. Fix them with \`credentials set --replace\` (or \`credentials rollback\`).`,
      );
    }
  });

  refusingArguments(
    credentials
      .command('rotate')
      .description(
        'Stage new credentials (from a new ThroughLine application), test them with a real token, promote them and refresh the cache',
      )
      .option(
        '--compromised',
        'breach response: after promoting, flush the cached token minted with the old credentials, mint a new one and verify the cache holds a token of the new version',
        false,
      )
      .option('--timeout <seconds>', 'how long to wait for the rotation', parsePositiveInt, 300)
      .addOption(new Option('--poll-interval-ms <ms>').argParser(parsePositiveInt).default(2000).hideHelp()),
  ).action(
    async (options: { compromised: boolean; timeout: number; pollIntervalMs: number }, command: Command) => {
      refuseCommandLineCredentials(command);
      const creds = await readCredentials();
      const { admin, tokens } = await adminsFor(command, io, options.pollIntervalMs);
      const state = () => trueState(admin, tokens);
      const currentVersionIdBefore = await admin.currentVersionId();

      const leftover = await admin.releaseLeftoverPending();
      if (leftover.kind === 'in-progress') {
        throw new Error(
          `A rotation is in progress: version ${leftover.versionId} holds AWSPENDING (${leftover.why}). Secrets Manager refuses a new rotation until it ends, and writing new credentials now would abandon it. ` +
            `AWSCURRENT is version ${currentVersionIdBefore ?? 'none'}, unchanged; nothing was staged. Next: watch it with \`credentials status\`; if it is stuck, release it with ` +
            `\`aws secretsmanager update-secret-version-stage --secret-id ${admin.secretArn} --version-stage AWSPENDING --remove-from-version-id ${leftover.versionId}\` and run \`credentials rotate\` again.`,
        );
      }
      if (leftover.kind === 'released') {
        io.out(
          `Released AWSPENDING from version ${leftover.versionId}, left by an earlier rotation that is over (${leftover.why}); AWSCURRENT was not touched.`,
        );
      }
      const stagedVersionId = await admin.stage(creds);
      io.out(
        `Staged the new credentials as version ${stagedVersionId} (${STAGED_LABEL}); AWSCURRENT (version ${currentVersionIdBefore}) is unchanged.`,
      );
      let rotationVersionId: string;
      try {
        rotationVersionId = await admin.startRotation();
      } catch (error) {
        const e = error as Error;
        throw new Error(
          e instanceof RotationInProgressError
            ? `Secrets Manager refused to start the rotation because a rotation is already in progress ("${e.message}"); it retries that one by itself. ${await state()} The new credentials stay staged as version ${stagedVersionId} and are not in use. Next: \`credentials status\`; run \`credentials rotate\` again once that rotation has ended.`
            : `Secrets Manager did not start the rotation (${e.name}: ${e.message}). ${await state()} The new credentials stay staged as version ${stagedVersionId} and are not in use. Next: fix the cause, then run \`credentials rotate\` again.`,
        );
      }
      io.out(
        `Rotation started: Secrets Manager created version ${rotationVersionId} (AWSPENDING, no value yet); waiting up to ${options.timeout} s for the rotation function…`,
      );
      const outcome = await admin.waitForRotation(rotationVersionId, options.timeout * 1000, {
        onStep: (progress) => io.out(`  ✓ ${STEP_DONE[progress.step]}`),
        onRetrying: (progress) =>
          io.out(
            `  ✗ ${progress.step} failed (${progress.error ?? 'error'}${progress.upstreamError ? `/${progress.upstreamError}` : ''}); Secrets Manager is retrying the whole rotation…`,
          ),
      });
      if (outcome.result === 'failed') {
        const released = await admin.releasePending(rotationVersionId).catch(() => false);
        throw new Error(
          `${explainFailure(outcome)}${released ? ` Released AWSPENDING from version ${rotationVersionId} so that nothing stays stuck (Secrets Manager's remaining retries of it stop at their first step).` : ''} ${await state()} Next: fix what the message says, then run \`credentials rotate\` again.`,
        );
      }
      if (outcome.result !== 'succeeded') throw new Error(`${explainFailure(outcome)} ${await state()}`);
      io.out(
        `Rotation complete: version ${rotationVersionId} is AWSCURRENT${outcome.previousVersionId ? `, version ${outcome.previousVersionId} is AWSPREVIOUS (\`credentials rollback\` restores it)` : ''}.`,
      );
      if (!options.compromised) {
        io.out(await state());
        return;
      }

      let removed: boolean;
      try {
        removed = await tokens.flush();
      } catch (error) {
        throw new Error(
          `The new credentials (version ${rotationVersionId}) are AWSCURRENT, but flushing the cached token failed (${(error as Error).message}). ${await state()} Next: \`npm run broker -- token flush\`, then \`token refresh --force\`, then \`credentials status\`.`,
        );
      }
      io.out(removed ? 'Flushed the cached token.' : 'The token cache was already empty.');
      let minted: Awaited<ReturnType<TokenAdmin['refresh']>>;
      try {
        minted = await tokens.refresh(true);
      } catch (error) {
        throw new Error(
          `The new credentials (version ${rotationVersionId}) are AWSCURRENT and the cached token was flushed, but minting a token with them failed (${(error as Error).message}); the next token request tries again. ${await state()} Next: \`npm run broker -- token refresh --force\`; if ThroughLine rejects the new credentials, see docs/runbooks/credentials-compromised.md.`,
        );
      }
      io.out(
        `Cached a new token minted with version ${minted.credentialVersionId}: expires ${describeTime(minted.expiresAt)}.`,
      );
      const [cached, currentVersionId] = await Promise.all([
        tokens.describe().catch(() => undefined),
        admin.currentVersionId(),
      ]);
      if (currentVersionId !== rotationVersionId || cached?.credentialVersionId !== rotationVersionId) {
        throw new Error(
          `Verification failed: expected AWSCURRENT and the cached token to be of version ${rotationVersionId}. ${await state()} Next: \`npm run broker -- token refresh --force\`, then \`credentials status\`.`,
        );
      }
      io.out(
        `Verified: AWSCURRENT is version ${rotationVersionId} and the token cache holds a token of version ${rotationVersionId}; no token of the old credentials is cached.`,
      );
      io.out(
        'Next (docs/runbooks/credentials-compromised.md): destroy the compromised application in the ThroughLine dashboard, report the breach to ThroughLine, and watch the broker alarms.',
      );
    },
  );

  refusingArguments(
    credentials
      .command('rollback')
      .description('Move AWSCURRENT back to the AWSPREVIOUS credentials, then refresh the token cache'),
  ).action(async (_options: unknown, command: Command) => {
    refuseCommandLineCredentials(command);
    const { admin, tokens } = await adminsFor(command, io);
    const { restored: restoredVersionId, replaced: replacedVersionId } = await admin.rollback();
    io.out(
      `Rolled back: version ${restoredVersionId} is AWSCURRENT again; version ${replacedVersionId} is now AWSPREVIOUS.`,
    );
    let refreshed: Awaited<ReturnType<TokenAdmin['refresh']>>;
    try {
      refreshed = await tokens.refresh(false);
    } catch (error) {
      throw new Error(
        `Rolled back, but refreshing the token cache failed (${(error as Error).message}). ${await trueState(admin, tokens)} Next: \`npm run broker -- token refresh\`.`,
      );
    }
    io.out(
      `Token cache refreshed: token of credentials version ${refreshed.credentialVersionId}, expires ${describeTime(refreshed.expiresAt)}.`,
    );
    if (refreshed.credentialVersionId !== restoredVersionId) {
      throw new Error(
        `The token cache holds a token of version ${refreshed.credentialVersionId}, not of the restored version ${restoredVersionId}. Next: \`npm run broker -- token refresh --force\`.`,
      );
    }
  });

  refusingArguments(
    credentials
      .command('status')
      .description(
        'Show the credential versions, their stages and age, the last rotation and the last mint (never a secret)',
      ),
  ).action(async (_options: unknown, command: Command) => {
    refuseCommandLineCredentials(command);
    const { admin, tokens } = await adminsFor(command, io);
    const status = await admin.status();
    const now = Date.now();
    io.out(`Secret: ${status.secretArn}`);
    io.out(
      `Rotation function: ${status.rotationFunctionArn ?? 'none attached'} (no automatic schedule: operators rotate)`,
    );
    io.out('Versions (newest first):');
    for (const v of status.versions) {
      const age = v.createdDate
        ? `${Math.floor((now - v.createdDate.getTime()) / 86_400_000)} d old`
        : 'age unknown';
      io.out(
        `  ${v.versionId}  ${(v.stages.length > 0 ? v.stages.join(',') : '-').padEnd(24)}  created ${v.createdDate?.toISOString() ?? '?'} (${age})`,
      );
    }
    const pending = status.versions.find(
      (v) => v.stages.includes('AWSPENDING') && !v.stages.includes('AWSCURRENT'),
    );
    if (pending) {
      io.out(
        `Rotation in progress (or stuck): version ${pending.versionId} holds AWSPENDING; Secrets Manager refuses a new rotation until it ends (docs/runbooks/rotation-failed.md).`,
      );
    }
    const staged = status.versions.find((v) => v.stages.includes(STAGED_LABEL));
    if (staged) io.out(`Staged, not in use: version ${staged.versionId} (${STAGED_LABEL}).`);
    const p = status.lastRotationProgress;
    io.out(
      `Last rotation: ${p ? `version ${p.token}, ${p.step} ${p.status}${p.error ? ` (${p.error}${p.upstreamError ? `/${p.upstreamError}` : ''})` : ''} at ${p.at}` : 'none recorded'}`,
    );
    try {
      const cached = await tokens.describe();
      io.out(
        cached
          ? `Cached token: minted ${describeTime(cached.mintedAt)}, expires ${describeTime(cached.expiresAt)}, credentials version ${cached.credentialVersionId}${cached.credentialVersionId === status.currentVersionId ? ' (current)' : ' (NOT the current version: run `token refresh`)'}`
          : 'Cached token: none (the next request mints one)',
      );
    } catch (error) {
      io.out(`Cached token: unknown — mint-token could not be asked (${(error as Error).message})`);
    }
  });
}

/** The credential and token admins of the broker the global options point at. */
async function adminsFor(command: Command, io: CliIo, pollIntervalMs?: number) {
  const { credentials, tokens } = await BrokerConnection.of(command, io).admins(
    pollIntervalMs ? { pollIntervalMs } : {},
  );
  return { admin: credentials, tokens };
}

/**
 * Lets commander collect stray arguments and unknown options instead of rejecting them with a message
 * that quotes them — a client secret pasted on the command line must not be echoed back.
 */
function refusingArguments(command: Command): Command {
  return command.allowUnknownOption(true).allowExcessArguments(true);
}

function refuseCommandLineCredentials(command: Command): void {
  if (command.args.length === 0) return;
  throw new CredentialsOnCommandLineError(
    `\`credentials ${command.name()}\` takes no credentials or other arguments on the command line (got ${command.args.length} unexpected argument${command.args.length === 1 ? '' : 's'}, not shown). ` +
      'Command lines end up in shell history and process listings: pipe the credentials in on standard input ' +
      '(JSON {"client_id","client_secret"} or two lines), or run the command in a terminal to be prompted. ' +
      'If you pasted a client secret, treat it as exposed: clear it from your shell history.',
  );
}

function parsePositiveInt(value: string): number {
  const n = Number(value);
  // The value is not repeated: a secret pasted into the wrong place must not be echoed back.
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('must be a positive whole number');
  return n;
}

/** What is true now: where AWSCURRENT is and whether the cache holds a token of it. Never a value. */
async function trueState(admin: CredentialAdmin, tokens: TokenAdmin): Promise<string> {
  const currentVersionId = await admin.currentVersionId().catch(() => undefined);
  let cache: string;
  try {
    const cached = await tokens.describe();
    cache = cached
      ? `the token cache holds a token of version ${cached.credentialVersionId}${cached.credentialVersionId === currentVersionId ? ' (the current one)' : ' (NOT the current one: run `token refresh`)'}, expiring ${describeTime(cached.expiresAt)}`
      : 'the token cache is empty (the next request mints one)';
  } catch (error) {
    cache = `the token cache could not be checked (${(error as Error).name})`;
  }
  return `Now: AWSCURRENT is version ${currentVersionId ?? 'none'}; ${cache}.`;
}

function explainFailure(outcome: Exclude<RotationOutcome, { result: 'succeeded' }>): string {
  if (outcome.result === 'timed-out') {
    const last = outcome.lastProgress;
    return (
      `The rotation of version ${outcome.versionId} did not finish in time (last step recorded: ${last ? `${last.step} ${last.status}${last.error ? ` (${last.error})` : ''}` : 'none'}). ` +
      (outcome.retrying ? 'Secrets Manager is retrying it. ' : 'It may still be running. ') +
      (outcome.promoted
        ? `Version ${outcome.versionId} IS AWSCURRENT already; what is left is the token cache refresh. `
        : 'AWSCURRENT has not moved. ') +
      'Next: `credentials status` and the rotate-credentials function logs; the rotation may still complete.'
    );
  }
  if (outcome.result === 'abandoned') {
    return (
      `The rotation of version ${outcome.versionId} was abandoned before it finished: AWSPENDING was removed from it without it becoming AWSCURRENT. ` +
      'Secrets Manager does that when a new version of the secret is written during a rotation (a RotationAbandoned event in CloudTrail), e.g. a concurrent `credentials set` or `rotate`; or someone released the label. ' +
      'Next: `credentials status`, then `credentials rotate` again.'
    );
  }
  const { failure } = outcome;
  const unchanged = 'AWSCURRENT is unchanged: callers keep the current credentials.';
  const why: Record<string, string> = {
    RotationNotStagedError: `no staged credentials were found for this rotation. ${unchanged}`,
    RotationAbandonedError: `the rotation's version lost AWSPENDING (abandoned or released). ${unchanged}`,
    StagedCredentialsInvalidError: `the staged credentials are not usable. ${unchanged}`,
    StagedCredentialsUnchangedError: `the staged credentials are the ones already in use — create a new application in the ThroughLine dashboard and rotate to its credentials. ${unchanged}`,
    CacheRefreshAfterRotationError:
      'the new credentials ARE AWSCURRENT, but the token cache could not be refreshed: run `npm run -s broker -- token refresh`.',
  };
  let reason =
    why[failure.error ?? ''] ??
    `${failure.error ?? 'an error'} (see the rotate-credentials function logs). ${unchanged}`;
  if (failure.error === 'StagedCredentialsTestFailedError') {
    reason =
      failure.upstreamError === 'InvalidClientError'
        ? `ThroughLine rejected the new credentials (invalid_client): check that you copied the new application's client id and secret. ${unchanged}`
        : `ThroughLine did not issue a token for the new credentials (${failure.upstreamError ?? 'unknown error'}). ${unchanged}`;
  }
  return `Rotation of version ${outcome.versionId} failed at ${failure.step}: ${reason}`;
}
