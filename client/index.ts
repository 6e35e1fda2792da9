/**
 * The ThroughLine token broker's consumer client. Usage:
 *
 *   import { TokenClient } from '<repo>/client';
 *   const tokens = new TokenClient({ apiUrl: process.env.TOKEN_API_URL!, region: 'eu-west-2' });
 *   const { accessToken } = await tokens.getToken();
 *   await fetch('https://api.throughlinecare.com/v1/…', { headers: { authorization: `Bearer ${accessToken}` } });
 */
export * from './errors';
export { type AwsCredentials, EXECUTE_API_SERVICE } from './signed-request';
export { type AccessToken, type GetTokenOptions, TokenClient, type TokenClientOptions } from './token-client';
