/**
 * Stack output keys: the stack writes them, the operator CLI and the consumer client find the
 * broker's resources through them (never through hard-coded names).
 */
export const StackOutput = {
  Stage: 'Stage',
  CredentialsSecretArn: 'CredentialsSecretArn',
  TokenTableName: 'TokenTableName',
  MintTokenFunctionName: 'MintTokenFunctionName',
  MintTokenOperatorAliasArn: 'MintTokenOperatorAliasArn',
  BrokerKeyArn: 'BrokerKeyArn',
  OnCallTopicArn: 'OnCallTopicArn',
  OnCallTicketTopicArn: 'OnCallTicketTopicArn',
  MonitoringDashboardName: 'MonitoringDashboardName',
  /** Consumer API (issue: token API). */
  ApiId: 'TokenApiId',
  ApiUrl: 'TokenApiUrl',
  TokenEndpoint: 'TokenEndpoint',
  TokenInvokeArn: 'TokenInvokeArn',
  ApiAccessLogGroupName: 'TokenApiAccessLogGroupName',
  ServeTokenFunctionName: 'ServeTokenFunctionName',
  ServeTokenFunctionArn: 'ServeTokenFunctionArn',
  RefreshStateMachineArn: 'RefreshStateMachineArn',
  RotateFunctionName: 'RotateFunctionName',
  /** Proxy mode (only with proxy.enabled): the base URL ThroughLine paths are appended to. */
  ProxyBaseUrl: 'ThroughLineProxyBaseUrl',
  ProxyFunctionName: 'ProxyFunctionName',
} as const;

/** Outputs a stack has only in proxy mode. */
export const PROXY_OUTPUTS: readonly StackOutputKey[] = [
  StackOutput.ProxyBaseUrl,
  StackOutput.ProxyFunctionName,
];

export type StackOutputKey = (typeof StackOutput)[keyof typeof StackOutput];

export function brokerStackName(stageName: string): string {
  return `ThroughLineTokenBroker-${stageName}`;
}
