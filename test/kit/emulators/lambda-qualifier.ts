/**
 * How the Lambda Invoke API names what to run, for the local Invoke stand-ins: `FunctionName` may be
 * a name, a partial ARN or a full ARN, each optionally suffixed with `:<version or alias>`, and the
 * `Qualifier` query parameter names a version or alias too ("Specify a version or alias to invoke a
 * published version of the function", Invoke, AWS Lambda API Reference:
 * https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html). An alias the function does not have
 * is refused with ResourceNotFoundException, as Lambda does. The handler sees the ARN it was invoked
 * by in `context.invokedFunctionArn` ("It can be a function ARN or an alias ARN", Lambda context
 * object in Node.js).
 */
export interface InvokeTarget {
  readonly name: string;
  /** The alias or version asked for; undefined (or $LATEST) for the unqualified function. */
  readonly qualifier: string | undefined;
}

export function invokeTargetOf(pathFunctionName: string, queryQualifier: string | null): InvokeTarget {
  const decoded = decodeURIComponent(pathFunctionName);
  // arn:aws:lambda:region:account:function:name[:qualifier] | account:function:name[:q] | name[:q]
  const parts = decoded.split(':');
  let name: string;
  let suffix: string | undefined;
  if (parts[0] === 'arn') {
    name = parts[6] ?? '';
    suffix = parts[7];
  } else if (parts[1] === 'function') {
    name = parts[2] ?? '';
    suffix = parts[3];
  } else {
    name = parts[0] ?? '';
    suffix = parts[1];
  }
  const qualifier = queryQualifier ?? suffix;
  return { name, qualifier: qualifier === '$LATEST' ? undefined : qualifier };
}

export function invokedFunctionArn(target: InvokeTarget): string {
  return `arn:aws:lambda:us-east-1:123456789012:function:${target.name}${target.qualifier ? `:${target.qualifier}` : ''}`;
}
