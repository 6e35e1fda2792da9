// Warm-path benchmark inside one process, as a warm Lambda execution environment: loads the
// bundled serve-token, answers one request (L2 hit, fills L1), then times `iterations` requests
// answered from L1. Logs go to stdout (the parent discards them); figures go to fd 3.
// Usage: BENCH_EVENT=<API Gateway event JSON> node warm-path-runner.cjs <bundle> <iterations>;
// the timed loop starts when a byte arrives on stdin.
const fs = require('node:fs');
const [, , bundlePath, iterationsArg] = process.argv;
const iterations = Number(iterationsArg);

const context = {
  functionName: 'serve-token',
  awsRequestId: 'bench',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:serve-token',
  memoryLimitInMB: '256',
  getRemainingTimeInMillis: () => 30_000,
};

async function main() {
  const event = JSON.parse(process.env.BENCH_EVENT);
  const { handler } = require(bundlePath);
  const first = await handler(event, context);
  if (first.statusCode !== 200) throw new Error(`warm-up answered ${first.statusCode}`);
  fs.writeSync(3, `${JSON.stringify({ warmedUp: true })}\n`);
  // Wait for the parent to snapshot the AWS call count before the timed loop.
  await new Promise((resolve) => process.stdin.once('data', resolve));
  process.stdin.pause();
  const durations = new Float64Array(iterations);
  let non200 = 0;
  for (let i = 0; i < iterations; i++) {
    const started = process.hrtime.bigint();
    const response = await handler(event, context);
    durations[i] = Number(process.hrtime.bigint() - started) / 1e6;
    if (response.statusCode !== 200) non200 += 1;
  }
  durations.sort();
  const at = (p) => durations[Math.min(iterations - 1, Math.ceil((p / 100) * iterations) - 1)];
  fs.writeSync(
    3,
    `${JSON.stringify({ iterations, non200, p50: at(50), p99: at(99), max: durations[iterations - 1] })}\n`,
  );
}

main().then(
  () => process.exit(0),
  (error) => {
    fs.writeSync(3, `${JSON.stringify({ error: String(error?.message) })}\n`);
    process.exit(1);
  },
);
