import { DefaultStackSynthesizer, Fn, type Stack } from 'aws-cdk-lib';

/**
 * The role CloudFormation deploys this stack with: the bootstrap's CloudFormation execution role
 * (`cdk-<qualifier>-cfn-exec-role-<account>-<region>`). Resource policies that fence control-plane
 * actions (table backups, policy changes) exempt it, so a deployment can still update them.
 * Only the default synthesizer names that role; another synthesizer must say which role deploys.
 */
export function deploymentRoleArn(stack: Stack): string {
  const synthesizer = stack.synthesizer;
  // The synthesizer's ARN carries ${AWS::AccountId}-style placeholders (for the CLI): Fn::Sub them in the template.
  if (synthesizer instanceof DefaultStackSynthesizer)
    return Fn.sub(synthesizer.cloudFormationExecutionRoleArn);
  throw new Error(
    'deploymentRoleArn: the stack does not use the DefaultStackSynthesizer, so the CloudFormation execution role is unknown',
  );
}
