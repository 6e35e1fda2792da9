// A warm Lambda execution environment: loads a bundled handler once, then invokes it for every
// event line on stdin ({"id","event"}), without waiting for earlier invocations to finish, so a
// test can also drive concurrent requests into one instance. Results go to fd 3 as JSON lines
// ({"id","ok",...}); the first fd-3 line reports whether the init phase succeeded. After each
// invocation a marker line goes to stdout too: stdout and fd 3 are separate pipes, so without it the
// parent could see a result before the log lines the invocation wrote (warm-lambda.ts waits for both).
// Usage: node warm-lambda-runner.cjs <bundle> <timeoutMs>
const readline = require('node:readline');
const { emit, invocationFailure, lambdaContext } = require('./lambda-runtime.cjs');
const [, , bundlePath, timeoutArg] = process.argv;
const timeoutMs = Number(timeoutArg) || 30_000;
/** Must match DONE_MARKER in warm-lambda.ts. */
const DONE_MARKER = '__warmLambdaInvocationDone';

let mod;
try {
  mod = require(bundlePath);
} catch (error) {
  emit({ ready: false, error: { name: error?.name, message: error?.message } });
  process.exit(0);
}
emit({ ready: true });

const pending = new Set();
async function invoke(id, event, invokedFunctionArn) {
  const functionName = process.env.AWS_LAMBDA_FUNCTION_NAME || 'test-function';
  const context = lambdaContext({ timeoutMs, functionName, invokedFunctionArn });
  try {
    const value = await mod.handler(event, context);
    process.stdout.write(`${JSON.stringify({ [DONE_MARKER]: id })}\n`);
    emit({ id, ok: true, value: value === undefined ? null : value });
  } catch (error) {
    process.stdout.write(`${JSON.stringify({ [DONE_MARKER]: id })}\n`);
    emit({ id, ok: false, error: invocationFailure(error) });
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
