/**
 * Hostile input at the token endpoint: every grant type with stolen,
 * forged, malformed and repeated parameters, wrong credentials and wrong
 * content types. Nothing here may succeed, answer 5xx, or write anything.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { REDIRECT_URI } from '../support/browser';
import { APP_CODE, mint, MINIPROGRAM_CODE, postForm, TOKEN_EXCHANGE } from '../support/oidc';
import {
  expectJsonError,
  FORM_CONTENT_TYPES,
  formBytes,
  formPieces,
  headersOf,
  multipartBody,
  nastyString,
  PROPERTY_TIMEOUT,
  RUNS,
  sendWatched,
  type Piece,
} from './support';
import { credentialOptions, DEVICE_CODE, forgedAccessTokens, LOOPBACK_REDIRECT, makeWorld, NATIVE_REDIRECT, type Credentials, type World } from './world';

let world: World;
let forged: Record<string, string>;
/** WeChat codes that must be refused: WeChat's own refusals, snapshot users, codes of nobody. */
let badWeChatCodes: string[];

beforeAll(async () => {
  world = await makeWorld();
  forged = await forgedAccessTokens(world.victimTokens.access_token);
  badWeChatCodes = [
    ...(await Promise.all(
      [
        { kind: 'app' as const, error: 40029 },
        { kind: 'app' as const, error: 40163 },
        { kind: 'app' as const, error: 40226 },
        { kind: 'miniprogram' as const, error: 42003 },
        { kind: 'miniprogram' as const, appid: 'wx0000000000mini02', error: 40029 },
        { kind: 'app' as const, snapshot: true },
        { kind: 'miniprogram' as const, snapshot: true },
      ].map(async (code) => (await mint(code)).code),
    )),
    'nonexistentcode0001',
    'A'.repeat(128),
    'A'.repeat(129),
  ];
});

/** The token endpoint's RFC 6749 §5.2 / RFC 8628 §3.5 / RFC 8693 §2.2.2 errors. */
const TOKEN_ERRORS = {
  400: ['invalid_request', 'invalid_grant', 'unauthorized_client', 'unsupported_grant_type', 'invalid_scope'],
  401: ['invalid_client'],
  413: ['invalid_request'],
} as const;

const GRANT_TYPES = ['authorization_code', 'refresh_token', TOKEN_EXCHANGE, DEVICE_CODE];

/** The parameters of every grant, with values that are meaningful but never this client's to use. */
function parameterValues(): Record<string, () => fc.Arbitrary<string>> {
  const tokens = () => fc.constantFrom(...Object.values(forged), world.victimTokens.access_token, world.victimTokens.id_token!);
  return {
    grant_type: () => fc.constantFrom(...GRANT_TYPES, 'password', 'client_credentials', 'implicit', 'urn:ietf:params:oauth:grant-type:jwt-bearer', 'AUTHORIZATION_CODE'),
    code: () => fc.oneof(fc.constant(world.victimCode), tokens()),
    redirect_uri: () => fc.constantFrom(REDIRECT_URI, NATIVE_REDIRECT, LOOPBACK_REDIRECT, 'http://127.0.0.1:5555/cb', `${REDIRECT_URI}/x`, 'https://evil.example/cb'),
    code_verifier: () => fc.oneof(fc.constant(world.victimVerifier), fc.stringMatching(/^[A-Za-z0-9._~-]{43,128}$/)),
    refresh_token: () => fc.oneof(fc.constant(world.victimTokens.refresh_token!), tokens()),
    device_code: () => fc.oneof(fc.constant(world.victimDeviceCode), fc.constant(world.victimUserCode), tokens()),
    subject_token: () => fc.oneof(fc.constantFrom(...badWeChatCodes), tokens()),
    subject_token_type: () => fc.constantFrom(APP_CODE, MINIPROGRAM_CODE, 'urn:ietf:params:oauth:token-type:access_token', 'urn:ietf:params:oauth:token-type:id_token', 'urn:wechat:token-type:other'),
    scope: () => fc.constantFrom('openid', 'openid profile phone wechat offline_access', 'offline_access', 'admin', 'openid  profile', ' openid', 'openid\tprofile'),
    wechat_appid: () => fc.constantFrom('wx0000000000app001', 'wx0000000000mini01', 'wx0000000000mini02', 'wx-unknown'),
    wechat_phone_code: () => fc.constantFrom(...badWeChatCodes),
    requested_token_type: () => fc.constantFrom('urn:ietf:params:oauth:token-type:access_token', 'urn:ietf:params:oauth:token-type:refresh_token'),
    actor_token: () => tokens(),
    actor_token_type: () => fc.constant('urn:ietf:params:oauth:token-type:access_token'),
    client_id: () => fc.constantFrom(world.victim.client_id, world.publicClient.client_id),
    client_secret: () => fc.constantFrom(world.victim.client_secret!, 'x'),
  };
}

/** A request: the grant's own parameters (mostly present, meaningful), credentials, and noise. */
function tokenRequest() {
  const values = parameterValues();
  const names = Object.keys(values);
  const meaningful = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...names).chain((name) => values[name]!().map((value) => [name, value] as const)) }, { weight: 1, arbitrary: nastyString().map((value) => ['grant_type', value] as const) });
  return fc.record({
    grantType: fc.constantFrom(...GRANT_TYPES),
    params: fc.array(meaningful, { maxLength: 8 }),
    noise: fc.oneof({ weight: 3, arbitrary: fc.constant([] as Piece[]) }, { weight: 2, arbitrary: formPieces(names, fc.oneof(...Object.values(values).map((value) => value()))) }),
    credentials: fc.oneof(fc.constantFrom(...credentialOptions(world).filter((credentials) => credentials.valid)), fc.constantFrom(...credentialOptions(world))),
    contentType: fc.oneof({ weight: 4, arbitrary: fc.constant(FORM_CONTENT_TYPES[0]) }, { weight: 2, arbitrary: fc.constantFrom(...FORM_CONTENT_TYPES) }),
    multipart: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
  });
}

async function send(request: {
  grantType: string;
  params: readonly (readonly [string, string])[];
  noise: Piece[];
  credentials: Credentials;
  contentType: string | undefined;
  multipart: boolean;
}) {
  const pairs: [string, string][] = [['grant_type', request.grantType], ...request.params.map(([name, value]) => [name, value] as [string, string]), ...Object.entries(request.credentials.body)];
  let body: Uint8Array<ArrayBuffer>;
  let contentType = request.contentType;
  if (request.multipart) {
    ({ body, contentType } = multipartBody(Object.fromEntries(pairs)));
  } else {
    body = formBytes([...pairs.map(([name, value]): Piece => ({ kind: 'pair', name, value, encoding: 'proper' })), ...request.noise]);
  }
  return sendWatched('/token', { method: 'POST', headers: headersOf(contentType, request.credentials.authorization), body });
}

describe('hostile input: the token endpoint', () => {
  it(
    'refuses every grant made of stolen, forged or malformed parts with the RFC error, and writes nothing',
    async () => {
      await fc.assert(
        fc.asyncProperty(tokenRequest(), async (request) => {
          const { response, unchanged } = await send(request);
          const what = `${request.credentials.label}: ${request.grantType} ${JSON.stringify(request.params).slice(0, 400)}`;
          const error = await expectJsonError(response, TOKEN_ERRORS, what);
          // RFC 6749 §5.2: a failed client authentication is 401 with the Basic challenge.
          if (error.error === 'invalid_client') expect(response.headers.get('WWW-Authenticate'), what).toMatch(/^Basic /);
          unchanged();
        }),
        RUNS.broad,
      );
    },
    PROPERTY_TIMEOUT,
  );

  it(
    "refuses another client's code, refresh token and device code with invalid_grant, leaving them usable by their owner",
    async () => {
      const attempts = {
        authorization_code: { code: world.victimCode, redirect_uri: REDIRECT_URI, code_verifier: world.victimVerifier },
        refresh_token: { refresh_token: world.victimTokens.refresh_token! },
        [DEVICE_CODE]: { device_code: world.victimDeviceCode },
      };
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...Object.keys(attempts)),
          fc.constantFrom(...credentialOptions(world).filter((credentials) => credentials.valid)),
          async (grantType, credentials) => {
            const { response, unchanged } = await send({
              grantType,
              params: Object.entries(attempts[grantType as keyof typeof attempts]),
              noise: [],
              credentials,
              contentType: FORM_CONTENT_TYPES[0],
              multipart: false,
            });
            const what = `${credentials.label} presents the victim's ${grantType}`;
            const error = await expectJsonError(response, { 400: ['invalid_grant', 'unauthorized_client'] }, what);
            if (credentials.label !== 'post client') expect(error.error, what).toBe('invalid_grant');
            unchanged();
          },
        ),
        { numRuns: 20 },
      );
      // Their owner still gets a first poll's answer and its tokens.
      const poll = await postForm('/token', world.victim, { grant_type: DEVICE_CODE, device_code: world.victimDeviceCode });
      expect(await poll.json()).toMatchObject({ error: 'authorization_pending' });
      const refreshed = await postForm('/token', world.victim, { grant_type: 'refresh_token', refresh_token: world.victimTokens.refresh_token! });
      expect(refreshed.status).toBe(200);
      const redeemed = await postForm('/token', world.victim, {
        grant_type: 'authorization_code',
        code: world.victimCode,
        redirect_uri: REDIRECT_URI,
        code_verifier: world.victimVerifier,
      });
      expect(redeemed.status).toBe(200);
    },
    PROPERTY_TIMEOUT,
  );

  it(
    'treats JSON, multipart and missing bodies as invalid_request, never as a grant',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom('application/json', 'multipart/form-data; boundary=x', 'text/plain', undefined),
          fc.constantFrom(...credentialOptions(world).filter((credentials) => credentials.valid)),
          async (contentType, credentials) => {
            const body = JSON.stringify({ grant_type: 'refresh_token', refresh_token: world.victimTokens.refresh_token, ...credentials.body });
            const { response, unchanged } = await sendWatched('/token', { method: 'POST', headers: headersOf(contentType, credentials.authorization), body });
            await expectJsonError(response, { 400: ['invalid_request'] }, `${contentType} as ${credentials.label}`);
            unchanged();
          },
        ),
        { numRuns: 15 },
      );
    },
    PROPERTY_TIMEOUT,
  );
});
