import { Command } from 'commander';
import { redactArgumentErrors } from './argv-hygiene';
import { registerCredentialsCommands } from './commands/credentials';
import { registerDoctorCommand } from './commands/doctor';
import { registerPreflightCommand } from './commands/preflight';
import { registerTokenGetCommand } from './commands/token-get';
import { registerTokenOpsCommands } from './commands/token-ops';
import type { CliIo } from './io';
import type { StackLocator } from './stack-outputs';

/** Options every command accepts: which deployed broker to talk to. */
export interface GlobalOptions extends StackLocator {
  readonly stage: string;
}

export function globalOptions(command: Command): GlobalOptions {
  return command.optsWithGlobals() as GlobalOptions;
}

/**
 * The `broker` CLI: `npm run -s broker -- <group> <command>`. Each command group registers its
 * subcommands from its own module under cli/commands/.
 */
export function buildProgram(io: CliIo): Command {
  const program = new Command('broker')
    .description('Operate and use a deployed ThroughLine token broker')
    .option('--stage <name>', 'broker stage; the stack is ThroughLineTokenBroker-<stage>', 'dev')
    .option('--stack-name <name>', 'CloudFormation stack name (overrides --stage)')
    .option('--region <region>', 'AWS region of the stack (default: from your AWS configuration)')
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
  // Last, so it covers every command: no error repeats an argument (cli/argv-hygiene.ts).
  redactArgumentErrors(program, (line) => io.err(line));
  return program;
}
