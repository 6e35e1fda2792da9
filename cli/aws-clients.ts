/** The services the CLI calls, by the SDK's name for their endpoint variable (AWS_ENDPOINT_URL_<SERVICE>). */
export type AwsService =
  | 'CLOUDFORMATION'
  | 'SECRETS_MANAGER'
  | 'LAMBDA'
  | 'API_GATEWAY'
  | 'CLOUDTRAIL'
  | 'SSM';

export interface AwsClientConfig {
  readonly region?: string;
  readonly endpoint?: string;
}

/**
 * Configuration for a client of `service` in `region` (undefined: the AWS configuration's). Endpoints
 * follow the SDK's own environment variables (AWS_ENDPOINT_URL_<SERVICE>, AWS_ENDPOINT_URL) read from
 * the CLI's injectable environment, so tests point the commands at local servers without touching the
 * code path. Credentials come from the default provider chain: the operator's own AWS identity.
 */
export function awsClientConfig(
  service: AwsService,
  region: string | undefined,
  env: NodeJS.ProcessEnv,
): AwsClientConfig {
  const endpoint = env[`AWS_ENDPOINT_URL_${service}`] ?? env.AWS_ENDPOINT_URL;
  return { ...(region ? { region } : {}), ...(endpoint ? { endpoint } : {}) };
}
