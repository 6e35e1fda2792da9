// Runs a bundled Lambda handler the way the Node.js runtime does: one process (one execution
// environment), events delivered one at a time. Results go to fd 3 so that stdout/stderr hold
// only what the function itself logged. Usage: node lambda-runner.cjs <bundle> <timeoutMs>; events on stdin.
const fs = require('node:fs');
const { emit, invocationFailure, lambdaContext } = require('./lambda-runtime.cjs');
const [, , bundlePath, timeoutArg] = process.argv;
const timeoutMs = Number(timeoutArg) || 30_000;

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
    const context = lambdaContext({
      timeoutMs,
      functionName: 'test-function',
      // The local Lambda Invoke emulator passes the ARN the caller invoked (function or alias ARN).
      invokedFunctionArn: process.env.LOCAL_INVOKED_FUNCTION_ARN,
    });
    try {
      const value = await mod.handler(event, context);
      emit({ ok: true, value, timing: timing() });
    } catch (error) {
      emit({ ok: false, error: invocationFailure(error), timing: timing() });
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
