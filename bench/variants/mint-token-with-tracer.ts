// Benchmark-only variant: mint-token as shipped, plus the Powertools Tracer capturing its AWS
// clients — to measure what the Tracer (X-Ray SDK) would cost in bundle size and cold start.
import { Tracer } from '@aws-lambda-powertools/tracer';

const tracer = new Tracer({ serviceName: 'bench' });
tracer.provider.captureHTTPsGlobal();

export { handler } from '../../lambda/handlers/mint-token';
