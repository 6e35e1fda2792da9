import { type CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { brokerStackName, type StackOutputKey } from '../contract/stack-outputs';

export interface StackLocator {
  readonly stage?: string;
  readonly stackName?: string;
  readonly region?: string;
}

export class StackNotFoundError extends Error {
  override readonly name = 'StackNotFoundError';
}

/** The deployed broker's outputs, found by stack name (default: the stage's stack name). */
export class BrokerStackOutputs {
  private constructor(
    readonly stackName: string,
    private readonly outputs: ReadonlyMap<string, string>,
  ) {}

  static async load(locator: StackLocator, client: CloudFormationClient): Promise<BrokerStackOutputs> {
    const stackName = locator.stackName ?? brokerStackName(locator.stage ?? 'dev');
    let outputs: { OutputKey?: string; OutputValue?: string }[] | undefined;
    try {
      const result = await client.send(new DescribeStacksCommand({ StackName: stackName }));
      outputs = result.Stacks?.[0]?.Outputs;
    } catch (error) {
      throw new StackNotFoundError(
        `Could not read stack ${stackName} (${(error as Error).name}): check --stage/--stack-name, --region and your AWS credentials`,
      );
    }
    const map = new Map<string, string>();
    for (const o of outputs ?? []) if (o.OutputKey && o.OutputValue) map.set(o.OutputKey, o.OutputValue);
    return new BrokerStackOutputs(stackName, map);
  }

  get(key: StackOutputKey): string {
    const value = this.outputs.get(key);
    if (!value) {
      throw new StackNotFoundError(
        `Stack ${this.stackName} has no output ${key}: is it a ThroughLine token broker stack, deployed from this version?`,
      );
    }
    return value;
  }
}
