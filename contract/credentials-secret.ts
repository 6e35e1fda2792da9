/**
 * The credentials secret as the CLI (writer) and the Lambda code (reader) agree on it: the pair it
 * holds (as JSON `{"client_id","client_secret"}`), the deploy-time placeholder, and the staging
 * labels of its versions.
 */

/** The client credentials ThroughLine issued: never logged, never returned, never in an error. */
export interface ClientCredentials {
  readonly clientId: string;
  readonly clientSecret: string;
}

/**
 * The deploy-time value of the credentials secret holds this field. CloudFormation must create the
 * secret with *some* value; the marker lets the broker say "not set yet" instead of passing a
 * random string to ThroughLine and reporting "credentials rejected".
 */
export const PLACEHOLDER_FIELD = 'throughline_broker_placeholder';

/** Secrets Manager's own staging labels (Secrets Manager user guide, "Secret versions"). */
export const Stage = {
  Current: 'AWSCURRENT',
  Pending: 'AWSPENDING',
  Previous: 'AWSPREVIOUS',
} as const;
export type Stage = (typeof Stage)[keyof typeof Stage];

/**
 * The custom staging label under which an operator's new pair waits for its rotation. Not AWSPENDING:
 * a version holding AWSPENDING that is not AWSCURRENT means "a rotation is in progress" to Secrets
 * Manager, which then refuses RotateSecret (RotateSecret API reference). A version whose VersionStages
 * omit AWSCURRENT leaves AWSCURRENT where it is (PutSecretValue API reference), and a label attached to
 * a new version is removed from the version that held it (UpdateSecretVersionStage API reference:
 * "Each staging label can be attached to only one version at a time").
 */
export const STAGED_LABEL = 'THROUGHLINE_STAGED';
