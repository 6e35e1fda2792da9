/**
 * Who spends the quota: the caller's IAM identity as API Gateway reports it
 * (`requestContext.identity.userArn`), normalised so that every session of a role counts as the role.
 * A role's session ARN is `arn:aws:sts::<account>:assumed-role/<role name>/<session name>` and leaves
 * out the role's path ("IAM identifiers", IAM User Guide:
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html), so roles are named
 * `arn:aws:iam::<account>:role/<role name>` on both sides: the caller, and the ARNs in the config's
 * shares (whose path is dropped the same way). Role names are unique within an account, paths or not.
 */
const ASSUMED_ROLE = /^arn:(aws[a-z-]*):sts::(\d{12}):assumed-role\/([\w+=,.@-]{1,64})\/[\w+=,.@-]{1,64}$/;
const IAM_ROLE_OR_USER =
  /^arn:(aws[a-z-]*):iam::(\d{12}):(role|user)\/(?:[\w+=,.@-]+\/)*([\w+=,.@-]{1,128})$/;

export interface CallerPrincipal {
  /** The role (or user) ARN without path; `unknown` when API Gateway reported none. */
  readonly principalArn: string;
  readonly accountId: string | undefined;
}

/** The caller's principal, or `unknown` (it still gets the default share, all such callers together). */
export function callerPrincipal(
  userArn: string | null | undefined,
  accountId: string | null | undefined,
): CallerPrincipal {
  const principalArn = (userArn ? principalKey(userArn) : undefined) ?? 'unknown';
  const account = accountId && /^\d{12}$/.test(accountId) ? accountId : accountOf(principalArn);
  return { principalArn, accountId: account };
}

/** The ARN the quota counts by, or undefined for a string that is not a role, session or user ARN. */
export function principalKey(arn: string): string | undefined {
  const session = ASSUMED_ROLE.exec(arn);
  if (session) return `arn:${session[1]}:iam::${session[2]}:role/${session[3]}`;
  const iam = IAM_ROLE_OR_USER.exec(arn);
  if (iam) return `arn:${iam[1]}:iam::${iam[2]}:${iam[3]}/${iam[4]}`;
  return undefined;
}

function accountOf(principalArn: string): string | undefined {
  return /^arn:aws[a-z-]*:iam::(\d{12}):/.exec(principalArn)?.[1];
}
