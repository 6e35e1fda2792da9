import { type Command, CommanderError } from 'commander';

/**
 * Commander quotes what it could not use — an unknown option with its value (`--client-secret=…`),
 * an unknown command word, a bad option value — and so would print a secret pasted into the wrong
 * place. Every error it reports goes through `redactCommanderMessage` first: messages it builds only
 * from the program's own names are kept, every other one is replaced by one that names the problem
 * without repeating the argument.
 */

/** Commander messages that contain nothing the user typed (only the program's own names). */
const SAFE_MESSAGES: readonly RegExp[] = [
  /^error: missing required argument '[\w-]+'$/,
  /^error: option '[^']*' argument missing$/,
  /^error: required option '[^']*' not specified$/,
  /^error: too many arguments( for '[\w-]+')?\. Expected \d+ arguments? but got \d+\.$/,
];

/** Exits after printing help or the version: nothing to redact. */
const OUTPUT_NOT_ERRORS = new Set(['commander.helpDisplayed', 'commander.help', 'commander.version']);

const NOT_REPEATED = 'not repeated here, in case it holds a secret';

export function redactCommanderMessage(message: string): string {
  const text = message.trim();
  if (SAFE_MESSAGES.some((pattern) => pattern.test(text))) return text;
  if (text.startsWith('error: unknown option')) return `error: unknown option (${NOT_REPEATED}); see --help`;
  if (text.startsWith('error: unknown command'))
    return `error: unknown command (${NOT_REPEATED}); see --help`;
  // "option '--timeout <seconds>' argument 'abc' is invalid. <our parser's reason>"
  const invalid = /^error: option '(--?[a-z][a-z-]*)[^']*' argument .* is invalid\. ([\w ,.-]*)$/s.exec(text);
  if (invalid) return `error: option ${invalid[1]}: invalid value (${NOT_REPEATED}): ${invalid[2]}`;
  if (/^error: option '(--?[a-z][a-z-]*)/.test(text) || text.startsWith('error: ')) {
    return `error: the command line could not be used (${NOT_REPEATED}); see --help`;
  }
  return text.length === 0 ? text : `error: the command line could not be used (${NOT_REPEATED}); see --help`;
}

/**
 * Applies the redaction to `program` and all its subcommands: what commander prints and what it
 * throws (exitOverride) carry the redacted message; help and version output are untouched.
 */
export function redactArgumentErrors(program: Command, write: (line: string) => void): void {
  const all = (command: Command): Command[] => [command, ...command.commands.flatMap(all)];
  for (const command of all(program)) {
    command.configureOutput({ outputError: (message) => write(redactCommanderMessage(message)) });
    command.exitOverride((error) => {
      if (OUTPUT_NOT_ERRORS.has(error.code)) throw error;
      throw new CommanderError(error.exitCode, error.code, redactCommanderMessage(error.message));
    });
  }
}
