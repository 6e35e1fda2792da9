/** A terminal for prompting: what process.stdin and process.stderr are when they are TTYs. */
export interface PromptTerminal {
  readonly input: NodeJS.ReadableStream & {
    setRawMode?: (mode: boolean) => unknown;
    isTTY?: boolean;
    unshift(chunk: Buffer): void;
  };
  readonly output: NodeJS.WritableStream;
  /** Where termination signals and process exit are announced; `process` unless a test says otherwise. */
  readonly lifecycle?: NodeJS.EventEmitter;
}

export class PromptCancelledError extends Error {
  override readonly name = 'PromptCancelledError';
}

const TERMINATING_SIGNALS = ['SIGTERM', 'SIGHUP', 'SIGINT'] as const;

/**
 * Escape sequences a terminal sends for keys that are not characters (arrows, Home, End, Delete,
 * function keys, Alt+key): CSI "ESC [ … final byte", SS3 "ESC O x", or ESC and one character.
 * They are swallowed whole, across reads, so they never become invisible characters of a secret.
 */
class EscapeSequenceFilter {
  private state: 'text' | 'escape' | 'csi' | 'ss3' = 'text';

  /** Whether `char` is part of an escape sequence (and so must be dropped). */
  swallows(char: string): boolean {
    switch (this.state) {
      case 'text':
        if (char !== '\u001b') return false;
        this.state = 'escape';
        return true;
      case 'escape':
        this.state = char === '[' ? 'csi' : char === 'O' ? 'ss3' : 'text';
        // Esc then Enter is still Enter.
        return char !== '\r' && char !== '\n';
      case 'csi':
        // Parameter and intermediate bytes (0x20–0x3f) continue the sequence; a final byte (0x40–0x7e) ends it.
        if (char >= '@' && char <= '~') this.state = 'text';
        return true;
      case 'ss3':
        this.state = 'text';
        return true;
    }
  }
}

/**
 * Reads one line from a terminal in raw mode. With `echo: false` nothing typed is written back (not
 * even asterisks, which would reveal the length). Enter ends the line, Backspace deletes, escape
 * sequences (arrow, Home, Delete keys…) are ignored, Ctrl-C or Ctrl-D on an empty line cancels, and
 * the end of input rejects. The terminal leaves raw mode on every path out: the answer, a
 * cancellation, the end of input, an exception, a termination signal (SIGTERM, SIGHUP, SIGINT — then
 * the signal is raised again so the process still ends) and process exit.
 */
export function promptLine(terminal: PromptTerminal, question: string, echo: boolean): Promise<string> {
  const { input, output } = terminal;
  const lifecycle = terminal.lifecycle ?? process;
  if (typeof input.setRawMode !== 'function') {
    return Promise.reject(new PromptCancelledError('Standard input is not a terminal: cannot prompt'));
  }
  output.write(question);
  input.setRawMode(true);
  input.resume();
  return new Promise((resolve, reject) => {
    let line = '';
    let done = false;
    const escapes = new EscapeSequenceFilter();
    const restoreTerminal = () => {
      input.removeListener('data', onData);
      input.removeListener('end', onEnd);
      input.removeListener('error', onError);
      lifecycle.removeListener('exit', restoreTerminal);
      for (const [signal, listener] of signalListeners) lifecycle.removeListener(signal, listener);
      input.setRawMode?.(false);
      input.pause();
    };
    const finish = (error?: Error) => {
      if (done) return;
      done = true;
      restoreTerminal();
      output.write('\n');
      if (error) reject(error);
      else resolve(line);
    };
    const signalListeners = TERMINATING_SIGNALS.map((signal) => {
      const listener = () => {
        finish(new PromptCancelledError(`Cancelled by ${signal}: nothing was changed`));
        // Our listener kept the default action from ending the process: end it as the signal meant.
        if (lifecycle === process && process.listenerCount(signal) === 0) process.kill(process.pid, signal);
      };
      return [signal, listener] as const;
    });
    const onEnd = () =>
      finish(new PromptCancelledError('End of input before the line was complete: nothing was changed'));
    const onError = () =>
      finish(new PromptCancelledError('The terminal could not be read: nothing was changed'));
    const onData = (chunk: Buffer | string) => {
      try {
        const chars = [...chunk.toString()];
        for (const [i, char] of chars.entries()) {
          if (escapes.swallows(char)) continue;
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
      } catch {
        finish(new PromptCancelledError('The prompt failed: nothing was changed'));
      }
    };
    input.on('data', onData);
    input.once('end', onEnd);
    input.once('error', onError);
    lifecycle.once('exit', restoreTerminal);
    for (const [signal, listener] of signalListeners) lifecycle.once(signal, listener);
  });
}

/** Prompts for the client id (shown: it is a public identifier) and the client secret (hidden). */
export async function promptCredentialsLines(terminal: PromptTerminal): Promise<string> {
  const clientId = await promptLine(terminal, 'ThroughLine client id: ', true);
  const clientSecret = await promptLine(terminal, 'ThroughLine client secret (hidden): ', false);
  return `${clientId}\n${clientSecret}\n`;
}
