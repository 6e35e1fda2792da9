/** A terminal for prompting: what process.stdin and process.stderr are when they are TTYs. */
export interface PromptTerminal {
  readonly input: NodeJS.ReadableStream & {
    setRawMode?: (mode: boolean) => unknown;
    isTTY?: boolean;
    unshift(chunk: Buffer): void;
  };
  readonly output: NodeJS.WritableStream;
}

export class PromptCancelledError extends Error {
  override readonly name = 'PromptCancelledError';
}

/**
 * Reads one line from a terminal in raw mode. With `echo: false` nothing typed is written back (not
 * even asterisks, which would reveal the length). Enter ends the line, Backspace deletes, Ctrl-C or
 * Ctrl-D on an empty line cancels. Raw mode is always restored.
 */
export function promptLine(terminal: PromptTerminal, question: string, echo: boolean): Promise<string> {
  const { input, output } = terminal;
  if (typeof input.setRawMode !== 'function') {
    return Promise.reject(new PromptCancelledError('Standard input is not a terminal: cannot prompt'));
  }
  output.write(question);
  input.setRawMode(true);
  input.resume();
  return new Promise((resolve, reject) => {
    let line = '';
    const finish = (error?: Error) => {
      input.removeListener('data', onData);
      input.setRawMode?.(false);
      input.pause();
      output.write('\n');
      if (error) reject(error);
      else resolve(line);
    };
    const onData = (chunk: Buffer | string) => {
      const chars = [...chunk.toString()];
      for (const [i, char] of chars.entries()) {
        if (char === '\r' || char === '\n') {
          // Pasted text may hold the next answer too: leave it for the next prompt.
          const rest = chars
            .slice(i + 1)
            .join('')
            .replace(/^\n/, '');
          finish();
          if (rest.length > 0) input.unshift(Buffer.from(rest));
          return;
        }
        if (char === '\u0003' || (char === '\u0004' && line.length === 0)) {
          return finish(new PromptCancelledError('Cancelled: nothing was changed'));
        }
        if (char === '\u007f' || char === '\b') {
          if (line.length > 0) {
            line = line.slice(0, -1);
            if (echo) output.write('\b \b');
          }
          continue;
        }
        if (char < ' ') continue;
        line += char;
        if (echo) output.write(char);
      }
    };
    input.on('data', onData);
  });
}

/** Prompts for the client id (shown: it is a public identifier) and the client secret (hidden). */
export async function promptCredentialsLines(terminal: PromptTerminal): Promise<string> {
  const clientId = await promptLine(terminal, 'ThroughLine client id: ', true);
  const clientSecret = await promptLine(terminal, 'ThroughLine client secret (hidden): ', false);
  return `${clientId}\n${clientSecret}\n`;
}
