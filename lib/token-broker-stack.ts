import { Stack, type StackProps, Tags } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { StageConfig } from './config/schema';
import type { BrokerKey } from './constructs/broker-key';
import type { CredentialRotation } from './constructs/credential-rotation';
import type { CredentialStore } from './constructs/credential-store';
import type { MintTokenFunction } from './constructs/mint-token-function';
import type { BrokerMonitoring } from './constructs/monitoring/broker-monitoring';
import type { ManagementTrail } from './constructs/monitoring/management-trail';
import type { OnCallTopic } from './constructs/on-call-topic';
import type { RefreshWorkflow } from './constructs/refresh-workflow';
import type { ServeTokenFunction } from './constructs/serve-token-function';
import type { TokenApi } from './constructs/token-api';
import type { TokenCacheTable } from './constructs/token-cache-table';
import { TokenBroker } from './token-broker';

export interface TokenBrokerStackProps extends StackProps {
  readonly stageName: string;
  /** The stage's validated settings (lib/config/load-config.ts). */
  readonly config: StageConfig;
}

/**
 * The deployable app's stack: one TokenBroker for one stage (e.g. sandbox or production), named
 * after it, with the stack outputs the operator CLI reads. Platform teams embedding the broker in
 * their own stack use TokenBroker directly (examples/).
 */
export class TokenBrokerStack extends Stack {
  readonly broker: TokenBroker;
  readonly brokerKey: BrokerKey;
  readonly credentialStore: CredentialStore;
  readonly tokenCache: TokenCacheTable;
  readonly mintToken: MintTokenFunction;
  readonly onCall: OnCallTopic;
  readonly monitoring: BrokerMonitoring;
  readonly serveToken: ServeTokenFunction;
  readonly tokenApi: TokenApi;
  readonly refreshWorkflow: RefreshWorkflow;
  readonly credentialRotation: CredentialRotation;
  readonly managementTrail?: ManagementTrail;

  constructor(scope: Construct, id: string, props: TokenBrokerStackProps) {
    super(scope, id, props);
    Tags.of(this).add('throughline-broker:stage', props.stageName);
    // "Default" is left out of logical IDs (CDK's unique-ID rule for the id "Default"), so every
    // resource keeps the logical ID it had before the broker became a construct — an upgrade replaces
    // nothing (test/infra/logical-ids.test.ts pins the stateful ones).
    this.broker = new TokenBroker(this, 'Default', {
      config: props.config,
      stageName: props.stageName,
      serviceName: this.stackName,
    });
    const b = this.broker;
    this.brokerKey = b.brokerKey;
    this.credentialStore = b.credentialStore;
    this.tokenCache = b.tokenCache;
    this.mintToken = b.mintToken;
    this.onCall = b.onCall;
    this.monitoring = b.monitoring;
    this.serveToken = b.serveToken;
    this.tokenApi = b.tokenApi;
    this.refreshWorkflow = b.refreshWorkflow;
    this.credentialRotation = b.credentialRotation;
    if (b.managementTrail) this.managementTrail = b.managementTrail;
  }
}
