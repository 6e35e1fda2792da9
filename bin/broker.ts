#!/usr/bin/env node
import { processIo } from '../cli/io';
import { buildProgram } from '../cli/program';

const io = processIo();
buildProgram(io)
  .parseAsync(process.argv)
  .catch((error: unknown) => {
    // Errors of the broker's own making carry a message that says what to do; nothing else is printed.
    io.err(`error: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  });
