/**
 * The clients and tokens the hostile properties aim at, made through the
 * public interface: "attacker" clients whose credentials the requests use,
 * and a "victim" client whose live tokens, codes and logins they steal.
 * Also forged JWTs, minted with the provider's own private keys (read from
 * env.SIGNING_KEYS) where a forgery needs a valid signature.
 */
import { env } from 'cloudflare:workers';
import { base64url, CompactSign, decodeJwt, generateKeyPair, importJWK, SignJWT, type JWK, type JWTPayload } from 'jose';
import { authorizeUrl, Browser, browserLogin, pkce, REDIRECT_URI, startLogin, webClientMetadata } from '../support/browser';
import { login, postForm, register, TOKEN_EXCHANGE, type RegisteredClient, type TokenSet } from '../support/oidc';

export const DEVICE_CODE = 'urn:ietf:params:oauth:grant-type:device_code';
export const ALL_GRANTS = ['authorization_code', 'refresh_token', TOKEN_EXCHANGE, DEVICE_CODE];
export const NATIVE_REDIRECT = 'com.example.app:/cb';
export const LOOPBACK_REDIRECT = 'http://127.0.0.1/cb';

export interface World {
  /** Attackers: their own credentials are right, the tokens they present are not theirs. */
  basicClient: RegisteredClient;
  postClient: RegisteredClient;
  publicClient: RegisteredClient;
  /** The client whose things are stolen. */
  victim: RegisteredClient;
  victimTokens: TokenSet;
  /** An authorization code issued to the victim, not yet redeemed, and its PKCE verifier. */
  victimCode: string;
  victimVerifier: string;
  /** A device authorization of the victim's, pending (not approved). */
  victimDeviceCode: string;
  victimUserCode: string;
  /** A browser login of the victim's, pending, and the browser (cookie) it belongs to. */
  victimLoginId: string;
  victimBrowser: Browser;
  /** An access token of an attacker's own (for endpoints that never write). */
  ownTokens: TokenSet;
}

export async function makeWorld(): Promise<World> {
  const basicClient = await register({ grant_types: ALL_GRANTS, redirect_uris: [REDIRECT_URI], client_name: 'Attacker basic' });
  const postClient = await register({ token_endpoint_auth_method: 'client_secret_post', client_name: 'Attacker post' });
  const publicClient = await register({
    token_endpoint_auth_method: 'none',
    application_type: 'native',
    grant_types: ALL_GRANTS,
    redirect_uris: [NATIVE_REDIRECT, LOOPBACK_REDIRECT],
    client_name: 'Attacker public',
  });
  const victim = await register({ ...webClientMetadata, grant_types: ALL_GRANTS, client_name: 'Victim' });

  const victimTokens = await login(victim, { kind: 'app', nickname: 'Victim' });
  const ownTokens = await login(basicClient, { kind: 'app' });

  const { verifier, challenge } = await pkce();
  const codeBrowser = new Browser();
  const back = await browserLogin(codeBrowser, victim, { code_challenge: challenge, code_challenge_method: 'S256' });
  const victimCode = back.get('code')!;

  const device = await postForm('/device_authorization', victim, { scope: 'openid offline_access' });
  if (device.status !== 200) throw new Error(`device authorization failed: ${device.status}`);
  const { device_code: victimDeviceCode, user_code: victimUserCode } = await device.json<{ device_code: string; user_code: string }>();

  const victimBrowser = new Browser();
  const victimLoginId = await startLogin(victimBrowser, authorizeUrl(victim, { code_challenge: challenge, code_challenge_method: 'S256' }));

  return {
    basicClient,
    postClient,
    publicClient,
    victim,
    victimTokens,
    victimCode,
    victimVerifier: verifier,
    victimDeviceCode,
    victimUserCode,
    victimLoginId,
    victimBrowser,
    ownTokens,
  };
}

// --- Forged JWTs ---------------------------------------------------------------------------

interface PrivateKeys {
  rs256: { kid: string; key: CryptoKey; jwk: JWK };
  es256: { kid: string; key: CryptoKey; jwk: JWK };
}

async function privateKeys(): Promise<PrivateKeys> {
  const { keys } = JSON.parse(env.SIGNING_KEYS) as { keys: JWK[] };
  const find = async (alg: string) => {
    const jwk = keys.find((key) => key.alg === alg)!;
    return { kid: jwk.kid!, key: (await importJWK(jwk, alg)) as CryptoKey, jwk };
  };
  return { rs256: await find('RS256'), es256: await find('ES256') };
}

const encoder = new TextEncoder();

/** A JWS signed as is, without jose's checks of what it signs (RS256). */
async function signRaw(header: Record<string, unknown>, payload: unknown, key: CryptoKey): Promise<string> {
  const input = `${segment(header)}.${segment(payload)}`;
  const signature = await crypto.subtle.sign('RSASSA-PKCS1-v1_5', key, encoder.encode(input));
  return `${input}.${base64url.encode(new Uint8Array(signature))}`;
}

const segment = (value: unknown) => base64url.encode(encoder.encode(typeof value === 'string' ? value : JSON.stringify(value)));

/**
 * Access tokens that must not work: each is forged from the victim's real
 * access token (same grant, same jti) so that only the forgery is wrong.
 */
export async function forgedAccessTokens(real: string): Promise<Record<string, string>> {
  const keys = await privateKeys();
  const claims = decodeJwt(real);
  const now = Math.floor(Date.now() / 1000);
  const [header, payload, signature] = real.split('.') as [string, string, string];
  const sign = (body: JWTPayload, protectedHeader: Record<string, unknown> = {}, key = keys.rs256) =>
    new SignJWT(body).setProtectedHeader({ alg: key === keys.rs256 ? 'RS256' : 'ES256', kid: key.kid, typ: 'at+jwt', ...protectedHeader }).sign(key.key);
  const stranger = await generateKeyPair('RS256');
  const flipped = signature.slice(0, -4) + (signature.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA');

  return {
    'bad signature': `${header}.${payload}.${flipped}`,
    'no signature': `${header}.${payload}.`,
    'alg none': `${segment({ alg: 'none', typ: 'at+jwt', kid: keys.rs256.kid })}.${payload}.`,
    'alg none, no kid': `${segment({ alg: 'none' })}.${payload}.`,
    'payload swapped under a real signature': `${header}.${segment({ ...claims, scope: 'openid profile phone wechat offline_access', sub: 'someone-else' })}.${signature}`,
    'wrong kid': await sign(claims, { kid: 'no-such-key' }),
    'no kid': await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', typ: 'at+jwt' }).sign(keys.rs256.key),
    'RS256 kid, ES256 signature': await sign(claims, { alg: 'ES256', kid: keys.rs256.kid }, keys.es256),
    'ES256 kid, RS256 signature': await sign(claims, { alg: 'RS256', kid: keys.es256.kid }, keys.rs256),
    'a stranger EC key under our ES256 kid': await new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: keys.es256.kid, typ: 'at+jwt' }).sign((await generateKeyPair('ES256')).privateKey),
    'HS256 with the public key as secret': await new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256', kid: keys.rs256.kid, typ: 'at+jwt' })
      .sign(encoder.encode(keys.rs256.jwk.n!)),
    'a stranger key under our kid': await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: keys.rs256.kid, typ: 'at+jwt' }).sign(stranger.privateKey),
    expired: await sign({ ...claims, iat: now - 7200, exp: now - 3600 }),
    'expired a second ago': await sign({ ...claims, iat: now - 3600, exp: now - 1 }),
    'not yet valid': await sign({ ...claims, nbf: now + 3600 }),
    'other issuer': await sign({ ...claims, iss: 'https://evil.example' }),
    'other audience': await sign({ ...claims, aud: 'https://rs.example' }),
    'typ JWT (an ID token)': await sign(claims, { typ: 'JWT' }),
    'no typ': await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: keys.rs256.kid }).sign(keys.rs256.key),
    'missing gid': await sign({ ...claims, gid: undefined }),
    'missing jti': await sign({ ...claims, jti: undefined }),
    'unknown grant': await sign({ ...claims, gid: 'no-such-grant' }),
    'gid of another type': await sign({ ...claims, gid: 12345 }),
    'jti of another type': await sign({ ...claims, jti: { $ne: null } as unknown as string }),
    'scope of another type': await sign({ ...claims, scope: ['openid', 'profile'] }),
    'gid array': await sign({ ...claims, gid: [claims.gid] }),
    'unknown crit header': await signRaw({ alg: 'RS256', kid: keys.rs256.kid, typ: 'at+jwt', crit: ['x-unknown'], 'x-unknown': true }, claims, keys.rs256.key),
    'payload not JSON': await new CompactSign(encoder.encode('not json')).setProtectedHeader({ alg: 'RS256', kid: keys.rs256.kid, typ: 'at+jwt' }).sign(keys.rs256.key),
    'payload a JSON array': await new CompactSign(encoder.encode('[1,2]')).setProtectedHeader({ alg: 'RS256', kid: keys.rs256.kid, typ: 'at+jwt' }).sign(keys.rs256.key),
    'header not JSON': `${segment('{{{')}.${payload}.${signature}`,
    'header not base64': `!!!.${payload}.${signature}`,
    'two segments': `${header}.${payload}`,
    'four segments': `${header}.${payload}.${signature}.extra`,
    'JWE shape': `${header}.a.b.c.d`,
    'kid __proto__': await sign(claims, { kid: '__proto__' }),
    'kid with NUL': await sign(claims, { kid: `${keys.rs256.kid}\u0000` }),
    'huge kid': await sign(claims, { kid: 'k'.repeat(8_000) }),
  };
}

/** A real ID token with some claims changed, signed again with the provider's own key: the issuer vouches for it. */
export async function reSignedIdToken(real: string, changes: JWTPayload): Promise<string> {
  const keys = await privateKeys();
  return new SignJWT({ ...decodeJwt(real), ...changes })
    .setProtectedHeader({ alg: 'RS256', kid: keys.rs256.kid, typ: 'JWT' })
    .sign(keys.rs256.key);
}

/** An ID token of the victim's, re-signed expired: still a valid logout hint (RP-Initiated Logout §2). */
export async function expiredIdToken(real: string): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return reSignedIdToken(real, { iat: now - 7200, exp: now - 3600 });
}


// --- Client credentials, right and wrong --------------------------------------------------

export interface Credentials {
  label: string;
  authorization?: string;
  /** client_id / client_secret sent in the body. */
  body: Record<string, string>;
  /** Whether these authenticate an attacker client (so an error is about something else). */
  valid: boolean;
}

const basicOf = (id: string, secret: string) => `Basic ${btoa(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`)}`;

/** Every way a request may present (or fail to present) a client. */
export function credentialOptions(world: World): Credentials[] {
  const { basicClient, postClient, publicClient, victim } = world;
  return [
    { label: 'basic client', authorization: basicOf(basicClient.client_id, basicClient.client_secret!), body: {}, valid: true },
    { label: 'post client', body: { client_id: postClient.client_id, client_secret: postClient.client_secret! }, valid: true },
    { label: 'public client', body: { client_id: publicClient.client_id }, valid: true },
    { label: 'victim, wrong secret', authorization: basicOf(victim.client_id, 'wrong-secret'), body: {}, valid: false },
    { label: 'victim, its secret with the wrong method', body: { client_id: victim.client_id, client_secret: victim.client_secret! }, valid: false },
    { label: 'victim id alone', body: { client_id: victim.client_id }, valid: false },
    { label: 'victim, another client secret', authorization: basicOf(victim.client_id, basicClient.client_secret!), body: {}, valid: false },
    { label: 'post client by Basic', authorization: basicOf(postClient.client_id, postClient.client_secret!), body: {}, valid: false },
    { label: 'public client with a secret', body: { client_id: publicClient.client_id, client_secret: 'x' }, valid: false },
    { label: 'basic and body secret', authorization: basicOf(basicClient.client_id, basicClient.client_secret!), body: { client_secret: basicClient.client_secret! }, valid: false },
    { label: 'basic and another client_id', authorization: basicOf(basicClient.client_id, basicClient.client_secret!), body: { client_id: victim.client_id }, valid: false },
    { label: 'unknown client', authorization: basicOf('no-such-client', 'secret'), body: {}, valid: false },
    { label: 'unknown public client', body: { client_id: 'no-such-client' }, valid: false },
    { label: 'none', body: {}, valid: false },
    { label: 'empty header', authorization: '', body: {}, valid: false },
    { label: 'Basic alone', authorization: 'Basic', body: {}, valid: false },
    { label: 'Basic not base64', authorization: 'Basic !!!***', body: {}, valid: false },
    { label: 'Basic without colon', authorization: `Basic ${btoa('nocolon')}`, body: {}, valid: false },
    { label: 'Basic empty id', authorization: `Basic ${btoa(':secret')}`, body: {}, valid: false },
    { label: 'Basic bad percent', authorization: `Basic ${btoa('%ZZ:%E0%A4%A')}`, body: {}, valid: false },
    { label: 'Basic NUL', authorization: `Basic ${btoa('a\u0000b:c\u0000d')}`, body: {}, valid: false },
    { label: 'Basic binary', authorization: `Basic ${btoa('\u00ff\u00fe:\u0080')}`, body: {}, valid: false },
    { label: 'Basic huge', authorization: `Basic ${btoa(`${'a'.repeat(6000)}:${'b'.repeat(6000)}`)}`, body: {}, valid: false },
    { label: 'Bearer at the token endpoint', authorization: `Bearer ${world.ownTokens.access_token}`, body: {}, valid: false },
    { label: 'Digest', authorization: 'Digest username="x"', body: {}, valid: false },
    { label: 'client_id of a hostile shape', body: { client_id: '\u0000%ZZ\uD800' }, valid: false },
    { label: 'client_id huge', body: { client_id: 'c'.repeat(10_000) }, valid: false },
  ];
}
