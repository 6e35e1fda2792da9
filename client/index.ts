/**
 * The ThroughLine token broker's consumer client. Usage:
 *
 *   import { TokenClient } from '<repo>/client';
 *   const broker = new TokenClient({ apiUrl: process.env.TOKEN_API_URL!, region: 'eu-west-2' });
 *
 *   // Proxy mode: the broker calls ThroughLine with its token; this process never holds one.
 *   const response = await broker.fetchThroughLine('/v2/helplines?country_code=nz');
 *
 *   // Token mode: get the token and call ThroughLine yourself.
 *   const { accessToken } = await broker.getToken();
 *   await fetch('https://api.throughlinecare.com/v2/…', { headers: { authorization: `Bearer ${accessToken}` } });
 */

export type { CacheStatus, ProxyErrorCode } from '../contract/proxy-api';
export * from './errors';
export { type AwsCredentials, EXECUTE_API_SERVICE } from './signed-request';
export { brokerCacheStatus, type ThroughLineRequestInit } from './throughline-proxy';
export { type AccessToken, type GetTokenOptions, TokenClient, type TokenClientOptions } from './token-client';
