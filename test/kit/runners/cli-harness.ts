import { randomUUID } from 'node:crypto';
import {
  CloudFormationClient,
  type CloudFormationClientConfig,
  CreateStackCommand,
} from '@aws-sdk/client-cloudformation';
import type { CliIo } from '../../../cli/io';
import { buildProgram } from '../../../cli/program';
import { brokerStackName, StackOutput } from '../../../contract/stack-outputs';
import { MOTO_CREDENTIALS, MOTO_REGION } from '../local-aws/moto';

export interface CliRun {
  readonly out: string[];
  readonly err: string[];
  /** The error bin/broker.ts would print as `error: <message>` and exit 1 for. */
  readonly error: Error | undefined;
  /** Everything the run printed, error included: what a terminal or CI log would show. */
  readonly text: string;
}

/** The SDK's default credential chain reads the process environment: give it moto's fake keys. */
export function useMotoCredentials(): void {
  process.env.AWS_ACCESS_KEY_ID = MOTO_CREDENTIALS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = MOTO_CREDENTIALS.secretAccessKey;
  process.env.AWS_REGION = MOTO_REGION;
}

/**
 * Runs the real `broker` program (cli/program.ts) in-process with a captured IO, the way bin/broker.ts
 * runs it: a rejected action is reported as the error. Commander's own exits are errors already.
 */
export async function runCli(
  args: readonly string[],
  options: { readonly stdin?: string; readonly env?: NodeJS.ProcessEnv } = {},
): Promise<CliRun> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = {
    out: (line) => out.push(line),
    err: (line) => err.push(line),
    readStdin: async () => options.stdin ?? '',
    stdinIsTty: false,
    env: options.env ?? {},
  };
  // buildProgram makes every command throw (redacted) instead of exiting: cli/argv-hygiene.ts.
  const program = buildProgram(io);
  let error: Error | undefined;
  try {
    await program.parseAsync(['node', 'broker', ...args]);
  } catch (e) {
    error = e as Error;
  }
  const text = [...out, ...err, ...(error ? [`error: ${error.message}`] : [])].join('\n');
  return { out, err, error, text };
}

/**
 * A CloudFormation stack in moto (`clientConfig`: the SDK config for it) carrying the broker's
 * outputs, so the CLI finds resources as in AWS.
 */
export async function deployBrokerOutputs(
  clientConfig: CloudFormationClientConfig,
  outputs: { readonly secretArn: string; readonly mintTokenFunctionName: string },
): Promise<{ stage: string }> {
  const stage = `t${randomUUID().slice(0, 8)}`;
  const cloudFormation = new CloudFormationClient(clientConfig);
  await cloudFormation.send(
    new CreateStackCommand({
      StackName: brokerStackName(stage),
      TemplateBody: JSON.stringify({
        Resources: { Placeholder: { Type: 'AWS::CloudFormation::WaitConditionHandle' } },
        Outputs: {
          [StackOutput.Stage]: { Value: stage },
          [StackOutput.CredentialsSecretArn]: { Value: outputs.secretArn },
          [StackOutput.MintTokenFunctionName]: { Value: outputs.mintTokenFunctionName },
        },
      }),
    }),
  );
  return { stage };
}
