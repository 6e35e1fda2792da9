/**
 * The deploy-time value of the credentials secret holds this field. CloudFormation must create the
 * secret with *some* value; the marker lets the broker say "not set yet" instead of passing a
 * random string to ThroughLine and reporting "credentials rejected".
 */
export const PLACEHOLDER_FIELD = 'throughline_broker_placeholder';
