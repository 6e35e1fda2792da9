import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { StackOutput } from '../../lib/stack-output-names';
import { BrokerStackOutputs, type StackLocator } from '../stack-outputs';

/** The deployed broker resources the operator commands act on, found through the stack's outputs. */
export interface BrokerTarget {
  readonly stackName: string;
  readonly secretArn: string;
  readonly mintTokenFunctionName: string;
}

export async function loadBrokerTarget(
  locator: StackLocator,
  cloudFormation: CloudFormationClient,
): Promise<BrokerTarget> {
  const outputs = await BrokerStackOutputs.load(locator, cloudFormation);
  return {
    stackName: outputs.stackName,
    secretArn: outputs.get(StackOutput.CredentialsSecretArn),
    mintTokenFunctionName: outputs.get(StackOutput.MintTokenFunctionName),
  };
}
