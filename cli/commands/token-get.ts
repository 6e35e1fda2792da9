import { type Command, InvalidArgumentError } from 'commander';
import { TokenClient } from '../../client';
import { BrokerConnection } from '../broker-connection';
import type { CliIo } from '../io';

interface TokenGetOptions {
  readonly apiUrl?: string;
  readonly minTtl?: number;
  readonly printToken?: boolean;
  readonly json?: boolean;
}

function seconds(value: string): number {
  if (!/^\d{1,7}$/.test(value)) throw new InvalidArgumentError('must be a whole number of seconds');
  return Number(value);
}

/**
 * `broker token get`: gets a token the way a service does (SigV4-signed GET /token with your AWS
 * credentials). Prints metadata; the token itself only with --print-token, alone on stdout, so it
 * can be piped (e.g. into curl) without being shown by accident.
 */
export function registerTokenGetCommand(token: Command, io: CliIo): void {
  token
    .command('get')
    .description(
      'Get an access token from the token API (prints metadata; the token only with --print-token)',
    )
    .option('--api-url <url>', 'token API URL (default: the TokenApiUrl output of the stage stack)')
    .option('--min-ttl <seconds>', 'least remaining lifetime the token must have', seconds)
    .option('--print-token', 'print the access token itself, alone on stdout (for piping)')
    .option('--json', 'print JSON (with access_token only when --print-token is given too)')
    .action(async (options: TokenGetOptions, command: Command) => {
      const connection = BrokerConnection.of(command, io);
      const apiUrl = options.apiUrl ?? (await connection.tokenApiUrl());
      // --region only: without it the client takes the region from the API's URL (then AWS_REGION).
      const region = connection.global.region;
      const client = new TokenClient({
        apiUrl,
        ...(region ? { region } : {}),
        userAgent: 'throughline-broker-cli',
        ...(options.minTtl !== undefined ? { refreshMarginSeconds: options.minTtl } : {}),
      });
      const token = await client.getToken();
      const expiresInSeconds = Math.max(0, Math.round((token.expiresAt.getTime() - Date.now()) / 1000));
      const metadata = {
        token_type: token.tokenType,
        expires_in: expiresInSeconds,
        expires_at: token.serverExpiresAt,
        expires_at_iso: new Date(token.serverExpiresAt * 1000).toISOString(),
        endpoint: client.endpoint,
      };
      if (options.json) {
        io.out(
          JSON.stringify(options.printToken ? { access_token: token.accessToken, ...metadata } : metadata),
        );
      } else if (options.printToken) {
        io.out(token.accessToken);
      } else {
        io.out(`Token type:  ${metadata.token_type}`);
        io.out(`Expires at:  ${metadata.expires_at_iso} (in ${expiresInSeconds} s)`);
        io.out(`Endpoint:    ${metadata.endpoint}`);
        io.out('The token itself is not shown; add --print-token to print it (e.g. to pipe into curl).');
      }
    });
}
