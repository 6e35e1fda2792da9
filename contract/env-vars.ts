/**
 * Environment variable names of the broker's functions: the CDK app writes them (lib/constructs/),
 * the handlers read them (lambda/handlers/). Names and numbers only travel this way — never a
 * credential or a token. One name per value: the mint-token function's name is
 * MINT_TOKEN_FUNCTION_NAME for every function that invokes it.
 */
export const EnvVar = {
  /** mint-token and rotate-credentials: the credentials secret. */
  CredentialsSecretArn: 'CREDENTIALS_SECRET_ARN',
  /** mint-token, serve-token and proxy-throughline: the token cache table (and the usage ledger). */
  TokenTableName: 'TOKEN_TABLE_NAME',
  /** mint-token, serve-token and proxy-throughline: the broker key that encrypts cached tokens. */
  TokenKeyArn: 'TOKEN_KEY_ARN',
  /** mint-token and rotate-credentials: BrokerSettings as JSON (contract/broker-settings.ts). */
  Settings: 'BROKER_SETTINGS',
  /** serve-token, proxy-throughline and rotate-credentials: the function they ask to put a fresh token in the cache. */
  MintTokenFunctionName: 'MINT_TOKEN_FUNCTION_NAME',
  /** serve-token and proxy-throughline: ServeTokenSettings as JSON (contract/broker-settings.ts). */
  ServeSettings: 'SERVE_SETTINGS',
  /** proxy-throughline: ProxySettings as JSON (contract/broker-settings.ts). */
  ProxySettings: 'PROXY_SETTINGS',
  /** serve-token and proxy-throughline: the API (id and stage) whose events they accept as API calls. */
  TokenApiId: 'TOKEN_API_ID',
  TokenApiStage: 'TOKEN_API_STAGE',
} as const;

export type EnvVarName = (typeof EnvVar)[keyof typeof EnvVar];
