import { Command } from 'commander';
import { redactArgumentErrors } from './argv-hygiene';
import { registerCredentialsCommands } from './commands/credentials';
import { registerDoctorCommand } from './commands/doctor';
import { registerPreflightCommand } from './commands/preflight';
import { registerTokenGetCommand } from './commands/token-get';
import { registerTokenOpsCommands } from './commands/token-ops';
import { registerUsageCommand } from './commands/usage';
import { addGlobalOptions } from './global-options';
import type { CliIo } from './io';

/**
 * The `broker` CLI: `npm run -s broker -- <group> <command>`. Each command group registers its
 * subcommands from its own module under cli/commands/.
 */
export function buildProgram(io: CliIo): Command {
  const program = addGlobalOptions(
    new Command('broker').description('Operate and use a deployed ThroughLine token broker'),
  )
    .showHelpAfterError()
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) });

  const token = program.command('token').description('Get, refresh and flush access tokens');
  registerTokenGetCommand(token, io);
  registerTokenOpsCommands(token, io);
  const credentials = program
    .command('credentials')
    .description('Set, rotate, roll back and inspect the ThroughLine client credentials');
  registerCredentialsCommands(credentials, io);
  registerPreflightCommand(program, io);
  registerDoctorCommand(program, io);
  registerUsageCommand(program, io);
  // Last, so it covers every command: no error repeats an argument (cli/argv-hygiene.ts).
  redactArgumentErrors(program, (line) => io.err(line));
  return program;
}
