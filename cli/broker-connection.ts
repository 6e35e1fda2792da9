import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Command } from 'commander';
import { StackOutput } from '../contract/stack-outputs';
import { MintTokenInvoker } from '../lambda/aws/mint-token-invoker';
import { type AwsClientConfig, type AwsService, awsClientConfig } from './aws-clients';
import { type GlobalOptions, globalOptions } from './global-options';
import type { CliIo } from './io';
import { CredentialAdmin, type CredentialAdminOptions } from './operations/credential-admin';
import { TokenAdmin } from './operations/token-admin';
import { BrokerStackOutputs } from './stack-outputs';

/** What the operator commands act through on the deployed broker: its credentials secret and mint-token. */
export interface BrokerAdmins {
  readonly stackName: string;
  readonly credentials: CredentialAdmin;
  readonly tokens: TokenAdmin;
}

/**
 * How every command reaches AWS and the broker the global options point at: the one place that
 * resolves the region, configures the AWS clients, reads the broker stack's outputs and builds the
 * objects the commands act through. Nothing is called until a command asks.
 */
export class BrokerConnection {
  private constructor(
    readonly global: GlobalOptions,
    /** --region, else AWS_REGION / AWS_DEFAULT_REGION; undefined leaves it to the AWS configuration. */
    readonly region: string | undefined,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  static of(command: Command, io: CliIo): BrokerConnection {
    const global = globalOptions(command);
    return new BrokerConnection(
      global,
      global.region ?? io.env.AWS_REGION ?? io.env.AWS_DEFAULT_REGION,
      io.env,
    );
  }

  /** The region, for commands that check an account's region rather than a stack: they need one named. */
  requireRegion(missingMessage: string): string {
    if (!this.region) throw new Error(missingMessage);
    return this.region;
  }

  clientConfig(service: AwsService): AwsClientConfig {
    return awsClientConfig(service, this.region, this.env);
  }

  /** The broker stack's outputs; StackNotFoundError says which stack and what to check. */
  stackOutputs(): Promise<BrokerStackOutputs> {
    return BrokerStackOutputs.load(
      this.global,
      new CloudFormationClient(this.clientConfig('CLOUDFORMATION')),
    );
  }

  /** The token API's URL, from the stack's outputs. */
  async tokenApiUrl(): Promise<string> {
    return (await this.stackOutputs()).get(StackOutput.ApiUrl);
  }

  /**
   * The credential and token admins of the broker, found through its stack's outputs. Both outputs
   * are required whichever admin a command uses: a stack without them is not a broker of this version.
   */
  async admins(credentialOptions: CredentialAdminOptions = {}): Promise<BrokerAdmins> {
    const outputs = await this.stackOutputs();
    const secretArn = outputs.get(StackOutput.CredentialsSecretArn);
    const mintTokenFunctionName = outputs.get(StackOutput.MintTokenFunctionName);
    const secrets = new SecretsManagerClient(this.clientConfig('SECRETS_MANAGER'));
    // A Lambda throttle (the account's concurrency, or mint-token's optional reservation) is retried with jitter.
    const lambda = new LambdaClient({ ...this.clientConfig('LAMBDA'), maxAttempts: 6 });
    return {
      stackName: outputs.stackName,
      credentials: new CredentialAdmin(secrets, secretArn, credentialOptions),
      tokens: new TokenAdmin(new MintTokenInvoker(lambda, mintTokenFunctionName)),
    };
  }
}
