// What both runners do as the Node.js Lambda runtime does: results on fd 3 (stdout and stderr hold
// only what the function logged), the context object of each invocation, and the runtime's own
// report of a failed invocation. Used by lambda-runner.cjs (cold) and warm-lambda-runner.cjs (warm).
const fs = require('node:fs');

function emit(record) {
  fs.writeSync(3, `${JSON.stringify(record)}\n`);
}

let invocations = 0;

/** The Lambda context of the next invocation in this execution environment. */
function lambdaContext({ timeoutMs, functionName, invokedFunctionArn }) {
  invocations += 1;
  const deadline = Date.now() + timeoutMs;
  return {
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn:
      invokedFunctionArn || `arn:aws:lambda:us-east-1:123456789012:function:${functionName}`,
    memoryLimitInMB: '256',
    awsRequestId: `req-${process.pid}-${invocations}`,
    logGroupName: '/aws/lambda/test-function',
    logStreamName: 'local',
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
}

/** Logs a failed invocation as the runtime does; returns the error as a result carries it. */
function invocationFailure(error) {
  const record = { errorType: error?.name, errorMessage: error?.message };
  process.stderr.write(`${JSON.stringify({ level: 'ERROR', runtime: true, ...record })}\n`);
  return { name: error?.name, message: error?.message };
}

module.exports = { emit, lambdaContext, invocationFailure };
