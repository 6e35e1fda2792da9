import { MintFailedError, MintThrottledError } from '../aws/mint-token-invoker';
import { MintTokenRequestError } from '../minting/mint-token-request';
import { RotationError } from '../rotation/rotation-errors';
import { SettingsError } from '../runtime/settings';
import { BrokerError } from './broker-errors';

/**
 * What may leave a broker function as its error: only errors whose message the broker built from
 * facts. A Lambda error becomes the invoker's error payload, serve-token's log line, the Step
 * Functions cause e-mailed to on-call and the CLI's output, so a foreign message would travel far —
 * and foreign messages quote their input (V8's JSON.parse quotes the text it choked on, SDK errors
 * carry response text). A foreign error therefore leaves as a ForeignError: its class name kept (it
 * says what broke), its message, cause and properties dropped.
 */

/** Classes whose messages the broker writes itself (lambda/errors/broker-errors.ts and the payload, settings, invoke and rotation errors). */
const BROKER_BUILT: readonly (abstract new (...args: never[]) => Error)[] = [
  BrokerError,
  RotationError,
  MintTokenRequestError,
  SettingsError,
  MintFailedError,
  MintThrottledError,
];

/** What a log line says instead of a foreign error's message. */
export const FOREIGN_MESSAGE_WITHHELD =
  'withheld: the error came from outside the broker and may quote its input';

/** An error from outside the broker, with nothing of it but its class name. */
export class ForeignError extends Error {
  override readonly name = 'ForeignError';
  constructor(
    /** The foreign error's class name (or "Error" when that is not a plain identifier). */
    readonly foreignName: string,
    /** What the broker was doing, in its own words (e.g. "reading the credentials secret"). */
    during?: string,
  ) {
    super(
      `${during ? `${capitalise(during)} failed` : 'The invocation failed'} with ${foreignName} from outside the broker; its message is withheld because it may quote the data that caused it`,
    );
  }
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** A class name is repeated only when it looks like one: names of SDK errors come from responses too. */
export function safeErrorName(error: unknown): string {
  const name = error instanceof Error ? error.name : undefined;
  return typeof name === 'string' && /^[A-Za-z][A-Za-z0-9_.]{0,63}$/.test(name) ? name : 'Error';
}

export function isBrokerBuilt(error: unknown): error is Error {
  return error instanceof ForeignError || BROKER_BUILT.some((type) => error instanceof type);
}

/** `error` itself if the broker built it, else a ForeignError naming its class. */
export function toBoundaryError(error: unknown, during?: string): Error {
  return isBrokerBuilt(error) ? error : new ForeignError(safeErrorName(error), during);
}
