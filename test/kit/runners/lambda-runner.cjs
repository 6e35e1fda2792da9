// Runs a bundled Lambda handler the way the Node.js runtime does: one process (one execution
// environment), events delivered one at a time. Results go to fd 3 so that stdout/stderr hold
// only what the function itself logged. Usage: node lambda-runner.cjs <bundle> <timeoutMs>; events on stdin.
const fs = require('node:fs');
const [, , bundlePath, timeoutArg] = process.argv;
const timeoutMs = Number(timeoutArg) || 30_000;

function emit(record) {
  fs.writeSync(3, `${JSON.stringify(record)}\n`);
}

async function main() {
  const events = JSON.parse(fs.readFileSync(0, 'utf8'));
  let mod;
  const initStart = process.hrtime.bigint();
  try {
    mod = require(bundlePath);
  } catch (error) {
    emit({ ok: false, phase: 'init', error: { name: error.name, message: error.message } });
    return;
  }
  // Timings let benchmarks separate module load (init) from the invocation itself.
  const initMs = Number(process.hrtime.bigint() - initStart) / 1e6;
  let n = 0;
  for (const event of events) {
    const invokeStart = process.hrtime.bigint();
    const timing = () => ({
      initMs: n === 1 ? initMs : 0,
      invokeMs: Number(process.hrtime.bigint() - invokeStart) / 1e6,
    });
    n += 1;
    const deadline = Date.now() + timeoutMs;
    const context = {
      functionName: 'test-function',
      functionVersion: '$LATEST',
      // The local Invoke stand-ins pass the ARN the caller invoked (function or alias ARN).
      invokedFunctionArn:
        process.env.LOCAL_INVOKED_FUNCTION_ARN ||
        'arn:aws:lambda:us-east-1:123456789012:function:test-function',
      memoryLimitInMB: '256',
      awsRequestId: `req-${process.pid}-${n}`,
      logGroupName: '/aws/lambda/test-function',
      logStreamName: 'local',
      callbackWaitsForEmptyEventLoop: true,
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    };
    try {
      const value = await mod.handler(event, context);
      emit({ ok: true, value, timing: timing() });
    } catch (error) {
      // What the Lambda runtime would report (and log) for a failed invocation.
      const record = { errorType: error?.name, errorMessage: error?.message };
      process.stderr.write(`${JSON.stringify({ level: 'ERROR', runtime: true, ...record })}\n`);
      emit({ ok: false, error: { name: error?.name, message: error?.message }, timing: timing() });
    }
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    emit({ ok: false, phase: 'runner', error: { name: error.name, message: error.message } });
    process.exit(1);
  },
);
