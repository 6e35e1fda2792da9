// A warm Lambda execution environment: loads a bundled handler once, then invokes it for every
// event line on stdin ({"id","event"}), without waiting for earlier invocations to finish, so a
// test can also drive concurrent requests into one instance. Results go to fd 3 as JSON lines
// ({"id","ok",...}); the first fd-3 line reports whether the init phase succeeded.
// Usage: node warm-lambda-runner.cjs <bundle> <timeoutMs>
const fs = require('node:fs');
const readline = require('node:readline');
const [, , bundlePath, timeoutArg] = process.argv;
const timeoutMs = Number(timeoutArg) || 30_000;

function emit(record) {
  fs.writeSync(3, `${JSON.stringify(record)}\n`);
}

let mod;
try {
  mod = require(bundlePath);
} catch (error) {
  emit({ ready: false, error: { name: error?.name, message: error?.message } });
  process.exit(0);
}
emit({ ready: true });

let n = 0;
const pending = new Set();
async function invoke(id, event, invokedFunctionArn) {
  n += 1;
  const deadline = Date.now() + timeoutMs;
  const context = {
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME || 'test-function',
    functionVersion: '$LATEST',
    invokedFunctionArn:
      invokedFunctionArn ||
      `arn:aws:lambda:us-east-1:123456789012:function:${process.env.AWS_LAMBDA_FUNCTION_NAME || 'test-function'}`,
    memoryLimitInMB: '256',
    awsRequestId: `req-${process.pid}-${n}`,
    logGroupName: '/aws/lambda/test-function',
    logStreamName: 'local',
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
  try {
    const value = await mod.handler(event, context);
    emit({ id, ok: true, value: value === undefined ? null : value });
  } catch (error) {
    // What the Lambda runtime would report (and log) for a failed invocation.
    const record = { errorType: error?.name, errorMessage: error?.message };
    process.stderr.write(`${JSON.stringify({ level: 'ERROR', runtime: true, ...record })}\n`);
    emit({ id, ok: false, error: { name: error?.name, message: error?.message } });
  }
}

const lines = readline.createInterface({ input: process.stdin });
lines.on('line', (line) => {
  if (!line.trim()) return;
  const { id, event, invokedFunctionArn } = JSON.parse(line);
  const p = invoke(id, event, invokedFunctionArn).finally(() => pending.delete(p));
  pending.add(p);
});
lines.on('close', async () => {
  await Promise.all([...pending]);
  process.exit(0);
});
