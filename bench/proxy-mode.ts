import { request as httpsRequest } from 'node:https';
import { setTimeout as delay } from 'node:timers/promises';
import type { APIGatewayProxyResult } from 'aws-lambda';
import type { ProxySettings } from '../contract/broker-settings';
import { CACHE_STATUS_HEADER } from '../contract/proxy-api';
import { type ProxyEventOptions, proxyRequestEvent } from '../test/kit/builders/api-gateway-event';
import { ServeTokenBroker } from '../test/kit/builders/serve-token-world';
import { LambdaInvokeEmulator } from '../test/kit/emulators/lambda-invoke';
import { RecordingAwsProxy } from '../test/kit/emulators/recording-aws-proxy';
import { SMALL_DIRECTORY, syntheticHelplines, ThroughLineApi } from '../test/kit/fakes/throughline-api';
import { FakeTokenServer } from '../test/kit/fakes/token-server';
import type { WarmLambda } from '../test/kit/runners/warm-lambda';
import type { BenchEnv } from './support/bench-env';
import type { ReportSection } from './support/report';
import { fmt, percentile } from './support/stats';

/**
 * Proxy mode: how many ThroughLine calls 1,000 consumer requests cost with the shared response cache
 * off and on, beside token mode (each consumer calls ThroughLine itself: one call per request, the
 * naive baseline); and what the proxy adds to a call's latency, warm, against a direct call with the
 * token. A realistic directory mix: helplines by country and topic (a few countries ask most), single
 * helplines, the country and topic lists, and event reports (never cached).
 */
const COUNTRIES = ['us', 'gb', 'au', 'nz', 'ca', 'ie', 'de', 'fr', 'in', 'za'];
const TOPICS = [
  'Suicidal thoughts',
  'Anxiety',
  'Abuse & domestic violence',
  'Eating disorders',
  'Loneliness',
];

/** A deterministic mix (seeded): Zipf-like over countries, uniform over topics. */
function requestMix(count: number, helplineIds: readonly string[]): ProxyEventOptions[] {
  let seed = 42;
  const random = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const zipf = (n: number) => Math.min(n - 1, Math.floor(n ** random() - 1));
  return Array.from({ length: count }, () => {
    const r = random();
    if (r < 0.45) {
      return {
        path: 'v2/helplines',
        query: {
          country_code: COUNTRIES[zipf(COUNTRIES.length)] as string,
          topic: TOPICS[Math.floor(random() * TOPICS.length)] as string,
        },
      };
    }
    if (r < 0.65) return { path: `v2/helplines/${helplineIds[Math.floor(random() * helplineIds.length)]}` };
    if (r < 0.75) return { path: 'v2/countries' };
    if (r < 0.8) return { path: 'v2/topics' };
    return {
      method: 'POST',
      path: 'v2/events/helpline_display',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        helpline_id: helplineIds[0],
        session_id: 's',
        timestamp: '2026-12-02T12:00:00Z',
      }),
    };
  });
}

const UNMETERED: Partial<ProxySettings> = {
  // The benchmark measures calls, not shares: quota and shares far above the run.
  dailyQuotaCalls: 1_000_000,
  reserveCalls: 1_000_000,
  shares: { defaultDailyCalls: 1_000_000, byPrincipalArn: {}, byAccountId: {} },
  maxRequestsPerSecond: 30,
};
const CACHE_ON: Partial<ProxySettings> = {
  cache: {
    ttlSecondsByPrefix: { '/v2/countries': 86_400, '/v2/topics': 86_400, '/v2/helplines': 3_600 },
    staleIfErrorSeconds: 86_400,
  },
};

async function invoke(instance: WarmLambda, options: ProxyEventOptions): Promise<APIGatewayProxyResult> {
  const result = await instance.invoke<APIGatewayProxyResult>(proxyRequestEvent(options));
  if (!result.ok) throw new Error(`proxy-throughline failed: ${result.error.name}`);
  return result.value;
}

function directGet(base: string, path: string, token: string, ca: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      `${base}/${path}`,
      { headers: { authorization: `Bearer ${token}` }, ca },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

export async function benchProxyMode(
  env: BenchEnv,
  options: { readonly requests: number; readonly latencySamples: number },
): Promise<ReportSection> {
  const tokenServer = await FakeTokenServer.start(env.tls);
  const helplines = syntheticHelplines(120);
  const api = await ThroughLineApi.start(env.tls, { directory: { ...SMALL_DIRECTORY, helplines } });
  api.acceptTokensIssuedBy(tokenServer);
  const standIn = await LambdaInvokeEmulator.start();
  const awsProxy = await RecordingAwsProxy.start(env.localAws.motoEndpoint);
  const brokers: ServeTokenBroker[] = [];
  const mix = requestMix(
    options.requests,
    helplines.map((h) => h.id),
  );
  try {
    const run = async (settings: Partial<ProxySettings>) => {
      const broker = await ServeTokenBroker.createFrom(
        { bundles: env.bundles, localEnv: env.localAws },
        { tokenServer, standIn, proxy: awsProxy },
      );
      brokers.push(broker);
      const instance = await broker.startProxy({
        upstreamBaseUrl: api.url,
        proxySettings: { ...UNMETERED, ...settings },
      });
      const apiBefore = api.requests.length;
      const tokensBefore = tokenServer.requests.length;
      const sources: Record<string, number> = {};
      let non2xx = 0;
      for (const request of mix) {
        const answer = await invoke(instance, request);
        const source = String(answer.headers?.[CACHE_STATUS_HEADER]);
        sources[source] = (sources[source] ?? 0) + 1;
        if (answer.statusCode >= 300) non2xx++;
      }
      return {
        apiCalls: api.requests.length - apiBefore,
        tokenRequests: tokenServer.requests.length - tokensBefore,
        sources,
        non2xx,
        instance,
      };
    };
    const off = await run({});
    const on = await run(CACHE_ON);
    const per1000 = (n: number) => fmt((n / options.requests) * 1000, 0);

    // Latency, warm: the same GET through the proxy (cache off) and straight to the stand-in.
    const token = tokenServer.issuedTokens.at(-1) as string;
    const viaProxy: number[] = [];
    const direct: number[] = [];
    for (let i = 0; i < options.latencySamples; i++) {
      let started = process.hrtime.bigint();
      await invoke(off.instance, { path: 'v2/countries' });
      viaProxy.push(Number(process.hrtime.bigint() - started) / 1e6);
      started = process.hrtime.bigint();
      await directGet(api.url, 'v2/countries', token, env.tls.cert);
      direct.push(Number(process.hrtime.bigint() - started) / 1e6);
      // Paced below the fleet-wide 30/s, so no sample waits for a rate slot (that wait is the limit, not overhead).
      await delay(40);
    }
    const added = viaProxy.map((v, i) => v - (direct[i] as number));

    return {
      title: 'Proxy mode',
      method: `${options.requests} consumer requests in a directory mix (45 % helplines by country and topic over ${COUNTRIES.length} countries, Zipf-like, and ${TOPICS.length} topics; 20 % single helplines of ${helplines.length}; 10 % countries; 5 % topics; 20 % event reports) through the bundled proxy-throughline against a local HTTPS stand-in of ThroughLine's API, moto_server for DynamoDB and KMS. Token mode is the baseline: each request is one call by the consumer itself. Latency: ${options.latencySamples} warm GETs through the proxy (handler time, including its DynamoDB calls to moto), paced below the per-second limit, against the same GET sent straight to the stand-in with the token.`,
      columns: [
        'variant',
        'ThroughLine API calls per 1,000 requests',
        'token requests',
        'answers (miss / hit)',
        'non-2xx',
      ],
      rows: [
        ['token mode (consumer calls ThroughLine itself)', '1000', 'per consumer', '—', '—'],
        [
          'proxy, cache off (default)',
          per1000(off.apiCalls),
          String(off.tokenRequests),
          `${off.sources.miss ?? 0} / ${off.sources.hit ?? 0}`,
          String(off.non2xx),
        ],
        [
          'proxy, cache on (TTL 1 h helplines, 24 h lists)',
          per1000(on.apiCalls),
          String(on.tokenRequests),
          `${on.sources.miss ?? 0} / ${on.sources.hit ?? 0}`,
          String(on.non2xx),
        ],
      ],
      notes: [
        `Added latency per warm call (proxy − direct): p50 ${fmt(percentile(added, 50), 2)} ms, p99 ${fmt(percentile(added, 99), 2)} ms (proxy p50 ${fmt(percentile(viaProxy, 50), 2)} ms, direct p50 ${fmt(percentile(direct, 50), 2)} ms). In AWS add API Gateway's and Lambda's own overhead; the proxy's DynamoDB calls (ledger read, rate slot, count) are single-digit milliseconds there.`,
        'Event reports are never cached: each is a call. The cache is off by default (ThroughLine publishes no caching terms).',
      ],
    };
  } finally {
    await Promise.all(brokers.map((b) => b.stop()));
    await Promise.all([tokenServer.stop(), api.stop(), standIn.stop(), awsProxy.stop()]);
  }
}
