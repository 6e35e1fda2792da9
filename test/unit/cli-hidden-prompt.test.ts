import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { parseCredentialsInput } from '../../cli/credentials-input';
import { type PromptTerminal, promptCredentialsLines, promptLine } from '../../cli/hidden-prompt';

/** A fake terminal: what is typed goes in; everything written back is captured; raw mode is tracked. */
function terminal() {
  const input = new PassThrough() as PassThrough & { setRawMode: (m: boolean) => void; isTTY: boolean };
  const rawModes: boolean[] = [];
  input.setRawMode = (mode: boolean) => {
    rawModes.push(mode);
  };
  input.isTTY = true;
  let shown = '';
  const output = new PassThrough();
  output.on('data', (c) => {
    shown += c;
  });
  const type = (text: string) => setImmediate(() => input.write(text));
  return { t: { input, output } as PromptTerminal, type, shown: () => shown, rawModes };
}

describe('hidden prompt', () => {
  it('reads the secret without echoing any character of it, and restores the terminal', async () => {
    const { t, type, shown, rawModes } = terminal();
    const answer = promptLine(t, 'secret: ', false);
    type('Hunter2-S3cr3t\r');

    expect(await answer).toBe('Hunter2-S3cr3t');
    expect(shown()).toBe('secret: \n');
    expect(rawModes).toEqual([true, false]);
  });

  it('handles backspace, and echoes a visible answer', async () => {
    const { t, type, shown } = terminal();
    const answer = promptLine(t, 'id: ', true);
    type('abcx\u007fd\n');

    expect(await answer).toBe('abcd');
    expect(shown()).toBe('id: abcx\b \bd\n');
  });

  it('Ctrl-C cancels and restores the terminal', async () => {
    const { t, type, rawModes } = terminal();
    const answer = promptLine(t, 'secret: ', false);
    type('abc\u0003');

    await expect(answer).rejects.toThrow(/Cancelled: nothing was changed/);
    expect(rawModes).toEqual([true, false]);
  });

  it('prompts for the id, then the hidden secret, and yields input the stdin parser accepts', async () => {
    const { t, type, shown } = terminal();
    const lines = promptCredentialsLines(t);
    // Pasted in one go: the rest of the chunk is kept for the second prompt.
    type('client-123\r\nS3cr3t-typed\r');

    const parsed = parseCredentialsInput(await lines);

    expect(parsed).toEqual({ clientId: 'client-123', clientSecret: 'S3cr3t-typed' });
    expect(shown()).toContain('client-123');
    expect(shown()).not.toContain('S3cr3t-typed');
  });

  it('refuses to prompt on something that is not a terminal', async () => {
    await expect(
      promptLine({ input: new PassThrough(), output: new PassThrough() }, 'x', false),
    ).rejects.toThrow(/not a terminal/);
  });
});

describe('hidden prompt: keys that are not characters, and every way out', () => {
  it.each([
    ['an arrow key', 'abc\u001b[Adef\r'],
    ['Home and End', '\u001b[Habc\u001b[Fdef\r'],
    ['Delete and Ctrl+Right', 'abc\u001b[3~\u001b[1;5Cdef\r'],
    ['SS3 arrows and Alt+x', 'a\u001bOBbc\u001bxdef\r'],
  ])('swallows escape sequences: %s', async (_, typed) => {
    // Prepare
    const { t, type, shown } = terminal();
    const answer = promptLine(t, 'secret: ', false);

    // Act
    type(typed);

    // Assess
    expect(await answer).toBe('abcdef');
    expect(shown()).toBe('secret: \n');
  });

  it('swallows an escape sequence split across reads', async () => {
    const { t, shown } = terminal();
    const answer = promptLine(t, 'id: ', true);
    const input = t.input as PassThrough;
    input.write('abc\u001b');
    setImmediate(() => input.write('[1;5') && setImmediate(() => input.write('Cdef\r')));

    expect(await answer).toBe('abcdef');
    expect(shown()).toBe('id: abcdef\n');
  });

  it('rejects at the end of input and restores the terminal', async () => {
    const { t, rawModes } = terminal();
    const answer = promptLine(t, 'secret: ', false);
    const input = t.input as PassThrough;
    setImmediate(() => {
      input.write('abc');
      input.end();
    });

    await expect(answer).rejects.toThrow(/End of input/);
    expect(rawModes).toEqual([true, false]);
  });

  it.each(['SIGTERM', 'SIGHUP'])('restores the terminal on %s and cancels', async (signal) => {
    // Prepare
    const { t, type, rawModes } = terminal();
    const lifecycle = new EventEmitter();
    const answer = promptLine({ ...t, lifecycle }, 'secret: ', false);
    type('abc');

    // Act
    setImmediate(() => setImmediate(() => lifecycle.emit(signal, signal)));

    // Assess
    await expect(answer).rejects.toThrow(new RegExp(`Cancelled by ${signal}`));
    expect(rawModes).toEqual([true, false]);
    expect(lifecycle.eventNames()).toEqual([]);
  });

  it('restores the terminal when the process exits mid-prompt (e.g. an exception elsewhere)', () => {
    const { t, rawModes } = terminal();
    const lifecycle = new EventEmitter();
    void promptLine({ ...t, lifecycle }, 'secret: ', false).catch(() => {});

    lifecycle.emit('exit', 1);

    expect(rawModes).toEqual([true, false]);
  });

  it('leaves no listener behind after an answer', async () => {
    const { t, type } = terminal();
    const lifecycle = new EventEmitter();
    const answer = promptLine({ ...t, lifecycle }, 'x: ', false);
    type('ok\r');

    expect(await answer).toBe('ok');
    expect(lifecycle.eventNames()).toEqual([]);
    expect(t.input.listenerCount('data')).toBe(0);
  });
});
