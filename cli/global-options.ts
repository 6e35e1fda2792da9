import type { Command } from 'commander';
import type { StackLocator } from './stack-outputs';

/** Options every command accepts: which deployed broker to talk to. */
export interface GlobalOptions extends StackLocator {
  readonly stage: string;
}

/** Declares the global options on the program; each command reads them with globalOptions. */
export function addGlobalOptions(program: Command): Command {
  return program
    .option('--stage <name>', 'broker stage; the stack is ThroughLineTokenBroker-<stage>', 'dev')
    .option('--stack-name <name>', 'CloudFormation stack name (overrides --stage)')
    .option('--region <region>', 'AWS region of the stack (default: from your AWS configuration)');
}

export function globalOptions(command: Command): GlobalOptions {
  return command.optsWithGlobals() as GlobalOptions;
}
