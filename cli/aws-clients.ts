import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

/** The AWS clients the operator commands use. */
export interface BrokerAwsClients {
  readonly cloudFormation: CloudFormationClient;
  readonly secrets: SecretsManagerClient;
  readonly lambda: LambdaClient;
}

/**
 * Clients for the region chosen with --region (else the AWS configuration). Endpoints follow the
 * SDK's own environment variables (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_<SERVICE>) read from the CLI's
 * injectable environment, so tests point the commands at local servers without touching the code path.
 * Credentials come from the default provider chain: the operator's own AWS identity.
 */
export function createAwsClients(region: string | undefined, env: NodeJS.ProcessEnv): BrokerAwsClients {
  const base = region ? { region } : {};
  const endpoint = (service: string) => {
    const url = env[`AWS_ENDPOINT_URL_${service}`] ?? env.AWS_ENDPOINT_URL;
    return url ? { endpoint: url } : {};
  };
  return {
    cloudFormation: new CloudFormationClient({ ...base, ...endpoint('CLOUDFORMATION') }),
    secrets: new SecretsManagerClient({ ...base, ...endpoint('SECRETS_MANAGER') }),
    // mint-token runs one invocation at a time: a concurrent mint's throttle is retried with jitter.
    lambda: new LambdaClient({ ...base, ...endpoint('LAMBDA'), maxAttempts: 6 }),
  };
}
