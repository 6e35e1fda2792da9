#!/usr/bin/env node
import type { CommanderError } from 'commander';
import type * as CliIoModule from '../cli/io';
import type * as ProgramModule from '../cli/program';

// The AWS SDK warns on every run under Node 20 that its 2027 releases need Node 22; its own switch,
// set before any SDK module loads (so the modules that import the SDK are required below, not imported).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

async function main(): Promise<void> {
  const { processIo } = require('../cli/io') as typeof CliIoModule;
  const { buildProgram } = require('../cli/program') as typeof ProgramModule;
  const io = processIo();
  try {
    await buildProgram(io).parseAsync(process.argv);
  } catch (error: unknown) {
    if ((error as CommanderError).code?.startsWith('commander.')) {
      // Commander has printed its (redacted) message or the help already.
      process.exitCode = (error as CommanderError).exitCode;
      return;
    }
    // Errors of the broker's own making carry a message that says what to do; nothing else is printed.
    io.err(`error: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  }
}

void main();
