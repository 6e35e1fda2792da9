/**
 * The CLI's connection to the outside world, injectable so tests can drive commands without a
 * terminal and capture everything they print.
 */
export interface CliIo {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
  /** Reads all of standard input (for secrets piped in). */
  readonly readStdin: () => Promise<string>;
  /** Whether standard input is an interactive terminal (then secrets are prompted for, hidden). */
  readonly stdinIsTty: boolean;
  readonly env: NodeJS.ProcessEnv;
}

export function processIo(): CliIo {
  return {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    readStdin: async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    },
    stdinIsTty: process.stdin.isTTY === true,
    env: process.env,
  };
}
