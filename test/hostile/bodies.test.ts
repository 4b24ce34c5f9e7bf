/**
 * Hostile input, request bodies: random, malformed, badly encoded and
 * repeated parameters at every endpoint that reads a form or JSON body,
 * with right and wrong content types. The answer is a success the
 * endpoint may give, or its RFC error; a rejected request writes nothing.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { mint, REGISTRATION_TOKEN, TOKEN_EXCHANGE } from '../support/oidc';
import {
  expectJsonError,
  FORM_CONTENT_TYPES,
  formBytes,
  formPieces,
  headersOf,
  hostileJsonText,
  multipartBody,
  nastyString,
  PROPERTY_TIMEOUT,
  RUNS,
  sendWatched,
  type ErrorRule,
  type Piece,
} from './support';
import { credentialOptions, DEVICE_CODE, forgedAccessTokens, LOOPBACK_REDIRECT, makeWorld, NATIVE_REDIRECT, type World } from './world';

let world: World;
let forged: string[];
let badCode: string;

beforeAll(async () => {
  world = await makeWorld();
  forged = Object.values(await forgedAccessTokens(world.victimTokens.access_token));
  badCode = (await mint({ kind: 'miniprogram', error: 40029 })).code;
});

interface FormEndpoint {
  names: readonly string[];
  values: () => fc.Arbitrary<string>;
  errors: ErrorRule;
  /** Statuses of a success, and whether a success may write (only endpoints that create something). */
  success: readonly number[];
  writes: boolean;
}

const CLIENT_ERRORS = { 401: ['invalid_client'], 413: ['invalid_request'] } as const;

function formEndpoints(): Record<string, FormEndpoint> {
  const tokens = () => fc.constantFrom(world.victimTokens.access_token, world.victimTokens.refresh_token!, world.victimTokens.id_token!, ...forged);
  return {
    '/token': {
      names: ['grant_type', 'code', 'redirect_uri', 'code_verifier', 'refresh_token', 'device_code', 'subject_token', 'subject_token_type', 'scope', 'wechat_appid', 'wechat_phone_code', 'requested_token_type', 'actor_token', 'client_id', 'client_secret'],
      values: () => fc.oneof(fc.constantFrom('authorization_code', 'refresh_token', TOKEN_EXCHANGE, DEVICE_CODE, 'urn:wechat:token-type:app_code', 'openid offline_access', badCode, world.victimCode, world.victimDeviceCode), tokens()),
      errors: { 400: ['invalid_request', 'invalid_grant', 'unauthorized_client', 'unsupported_grant_type', 'invalid_scope'], ...CLIENT_ERRORS },
      success: [],
      writes: false,
    },
    '/revoke': {
      names: ['token', 'token_type_hint', 'client_id', 'client_secret'],
      values: () => fc.oneof(fc.constantFrom('access_token', 'refresh_token'), tokens()),
      errors: { 400: ['invalid_request'], ...CLIENT_ERRORS },
      success: [200],
      writes: false,
    },
    '/introspect': {
      names: ['token', 'token_type_hint', 'client_id', 'client_secret'],
      values: () => fc.oneof(fc.constantFrom('access_token', 'refresh_token'), tokens()),
      errors: { 400: ['invalid_request'], ...CLIENT_ERRORS },
      success: [200],
      writes: false,
    },
    '/device_authorization': {
      names: ['scope', 'client_id', 'client_secret', 'audience'],
      values: () => fc.constantFrom('openid', 'openid profile offline_access', 'bogus', 'openid  profile', ''),
      errors: { 400: ['invalid_request', 'invalid_scope', 'unauthorized_client'], ...CLIENT_ERRORS },
      success: [200],
      writes: true,
    },
    '/userinfo': {
      names: ['access_token', 'scope'],
      values: () => fc.oneof(fc.constant(world.ownTokens.access_token), tokens()),
      errors: { 400: ['invalid_request'], 401: ['invalid_token'], 403: ['insufficient_scope'], 413: ['invalid_request'] },
      success: [200],
      writes: false,
    },
  };
}

describe('hostile input: form bodies', () => {
  it(
    'answers random, repeated and badly encoded parameters with a success or the RFC error, never a write on a refusal',
    async () => {
      const endpoints = formEndpoints();
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...Object.keys(endpoints)).chain((path) =>
            fc.record({
              path: fc.constant(path),
              pieces: formPieces(endpoints[path]!.names, endpoints[path]!.values()),
              credentials: fc.oneof(fc.constantFrom(...credentialOptions(world).filter((credentials) => credentials.valid)), fc.constantFrom(...credentialOptions(world))),
              contentType: fc.oneof({ weight: 3, arbitrary: fc.constant(FORM_CONTENT_TYPES[0]) }, { weight: 1, arbitrary: fc.constantFrom(...FORM_CONTENT_TYPES) }),
              multipart: fc.integer({ min: 0, max: 6 }).map((n) => n === 0),
            }),
          ),
          async ({ path, pieces, credentials, contentType, multipart }) => {
            const endpoint = endpoints[path]!;
            const credentialPieces = Object.entries(credentials.body).map(([name, value]): Piece => ({ kind: 'pair', name, value, encoding: 'proper' }));
            let body = formBytes([...credentialPieces, ...pieces]);
            let type: string | undefined = contentType;
            if (multipart) {
              const fields = Object.fromEntries(pieces.flatMap((piece) => (piece.kind === 'pair' ? [[piece.name, piece.value]] : [])));
              ({ body, contentType: type } = multipartBody({ ...credentials.body, ...fields }));
            }
            const authorization = path === '/userinfo' ? undefined : credentials.authorization;
            const { response, unchanged } = await sendWatched(path, { method: 'POST', headers: headersOf(type, authorization), body });
            const what = `POST ${path} as ${credentials.label}, ${type}: ${JSON.stringify(pieces).slice(0, 400)}`;
            if (endpoint.success.includes(response.status)) {
              expect(response.headers.get('Content-Type') ?? '', what).not.toMatch(/^text\/html/);
              if (!endpoint.writes) unchanged();
              return;
            }
            await expectJsonError(response, endpoint.errors, what);
            unchanged();
          },
        ),
        RUNS.broad,
      );
    },
    PROPERTY_TIMEOUT,
  );

  it(
    'never echoes a hostile value into error_description as is (RFC 6749 §5.2 characters, bounded length)',
    async () => {
      // The parameters whose value or name an error names.
      const echoes: [string, (value: string) => Record<string, string>][] = [
        ['/token', (value) => ({ grant_type: value })],
        ['/token', (value) => ({ grant_type: TOKEN_EXCHANGE, subject_token: 'x', subject_token_type: value })],
        ['/token', (value) => ({ grant_type: TOKEN_EXCHANGE, subject_token: 'x', subject_token_type: 'urn:wechat:token-type:app_code', wechat_appid: value })],
        ['/token', (value) => ({ grant_type: TOKEN_EXCHANGE, subject_token: 'x', subject_token_type: 'urn:wechat:token-type:app_code', requested_token_type: value })],
        ['/revoke', (value) => ({ token: 'x', token_type_hint: value })],
      ];
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...echoes), nastyString(), fc.boolean(), async ([path, params], value, repeatName) => {
          const pieces: Piece[] = Object.entries({ ...params(value), client_id: world.publicClient.client_id }).map(([name, v]) => ({ kind: 'pair', name, value: v, encoding: 'proper' }));
          // The name of a repeated parameter is echoed too.
          if (repeatName) pieces.push({ kind: 'pair', name: value || 'x', value: '1', encoding: 'proper' }, { kind: 'pair', name: value || 'x', value: '2', encoding: 'proper' });
          const { response, unchanged } = await sendWatched(path, { method: 'POST', headers: headersOf(FORM_CONTENT_TYPES[0]), body: formBytes(pieces) });
          if (response.status !== 200) await expectJsonError(response, { 400: ['invalid_request', 'unsupported_grant_type', 'invalid_grant', 'invalid_scope'], 401: ['invalid_client'], 413: ['invalid_request'] }, `${path} ${JSON.stringify(params(value)).slice(0, 200)}`);
          unchanged();
        }),
        RUNS.narrow,
      );
    },
    PROPERTY_TIMEOUT,
  );
});

describe('hostile input: JSON bodies', () => {
  const metadataValue = () =>
    fc.oneof(
      nastyString(),
      fc.constantFrom(
        ['https://rp.example/cb'],
        ['http://evil.example/cb'],
        ['https://rp.example/cb#frag'],
        [NATIVE_REDIRECT],
        [LOOPBACK_REDIRECT],
        ['javascript:alert(1)'],
        ['data:text/html,x'],
        ['file:///etc/passwd'],
        ['https://[::1'],
        Array(21).fill('https://rp.example/cb'),
        ['authorization_code'],
        ['implicit'],
        [TOKEN_EXCHANGE, 'refresh_token'],
        ['token'],
        ['wx0000000000app001'],
        ['wx-unknown'],
        [],
        {},
        null,
        true,
        42,
        'none',
        'native',
        'client_secret_post',
        [['nested']],
        [null],
        'x'.repeat(300),
      ),
    );
  const metadataNames = ['redirect_uris', 'token_endpoint_auth_method', 'grant_types', 'response_types', 'application_type', 'client_name', 'post_logout_redirect_uris', 'wechat_appids', 'jwks', '__proto__', 'constructor'];

  it(
    'registration: random metadata is registered or refused with invalid_client_metadata / invalid_redirect_uri; no token is 401',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            { weight: 3, arbitrary: fc.dictionary(fc.constantFrom(...metadataNames), metadataValue(), { maxKeys: 6 }).map((body) => JSON.stringify(body)) },
            { weight: 1, arbitrary: hostileJsonText() },
          ),
          fc.oneof(
            { weight: 4, arbitrary: fc.constant(`Bearer ${REGISTRATION_TOKEN}`) },
            { weight: 1, arbitrary: fc.constantFrom(undefined, '', 'Bearer', `Bearer ${REGISTRATION_TOKEN}x`, `bearer  ${REGISTRATION_TOKEN}`, `Basic ${btoa('a:b')}`, `Bearer ${world.ownTokens.access_token}`) },
          ),
          fc.oneof({ weight: 4, arbitrary: fc.constant('application/json') }, { weight: 1, arbitrary: fc.constantFrom('application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', 'application/jsonx', undefined) }),
          async (body, authorization, contentType) => {
            const { response, unchanged } = await sendWatched('/register', { method: 'POST', headers: headersOf(contentType, authorization), body });
            const what = `register with ${authorization?.slice(0, 30)} ${contentType}: ${body.slice(0, 300)}`;
            if (response.status === 201) {
              expect(await response.json(), what).toMatchObject({ client_id: expect.any(String) });
              return;
            }
            const error = await expectJsonError(response, { 400: ['invalid_client_metadata', 'invalid_redirect_uri'], 401: ['invalid_token'], 413: ['invalid_request'] }, what);
            if (error.error === 'invalid_token') expect(response.headers.get('WWW-Authenticate'), what).toMatch(/^Bearer\b/);
            unchanged();
          },
        ),
        RUNS.medium,
      );
    },
    PROPERTY_TIMEOUT,
  );

  it(
    'the handoff: random bodies, unknown and malformed logins, bad WeChat codes are refused with a JSON error and write nothing',
    async () => {
      const handoffBody = fc.oneof(
        {
          weight: 3,
          arbitrary: fc
            .record(
              {
                login: fc.oneof(fc.constantFrom(world.victimUserCode, world.victimLoginId, 'unknown-login', 'A'.repeat(32), 'A'.repeat(33), 'BCDF-GHJK'), nastyString(), fc.integer()),
                code: fc.oneof(fc.constantFrom(badCode, 'nonexistentcode01', 'A'.repeat(129)), nastyString(), fc.constant(null), fc.integer()),
                phone_code: fc.oneof(fc.constantFrom(badCode, 'nonexistentphone1'), nastyString(), fc.constant(false)),
                appid: fc.oneof(fc.constantFrom('wx0000000000mini01', 'wx0000000000mini02', 'wx0000000000app001', 'wx-unknown'), nastyString()),
                deny: fc.oneof(fc.constant(false), fc.constantFrom('true', 0, null)),
              },
              { requiredKeys: ['login'] },
            )
            .map((body) => JSON.stringify(body)),
        },
        { weight: 1, arbitrary: hostileJsonText() },
      );
      await fc.assert(
        fc.asyncProperty(
          handoffBody,
          fc.oneof({ weight: 5, arbitrary: fc.constant('application/json') }, { weight: 1, arbitrary: fc.constantFrom('text/plain', 'application/x-www-form-urlencoded', undefined) }),
          async (body, contentType) => {
            const { response, unchanged } = await sendWatched('/wechat/handoff', { method: 'POST', headers: headersOf(contentType), body });
            const what = `handoff ${contentType}: ${body.slice(0, 300)}`;
            await expectJsonError(response, { 400: ['invalid_request', 'invalid_grant'], 404: ['login_not_found'], 409: ['login_already_used'], 413: ['invalid_request'] }, what);
            unchanged();
          },
        ),
        RUNS.medium,
      );
    },
    PROPERTY_TIMEOUT,
  );

  it(
    'the sandbox mint: random bodies are minted or refused with a JSON error, and never touch the bridge’s own state',
    async () => {
      const mintBody = fc.oneof(
        fc
          .record(
            {
              kind: fc.oneof(fc.constantFrom('app', 'miniprogram', 'phone'), nastyString()),
              openid: fc.oneof(fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/), nastyString()),
              unionid: nastyString(),
              nickname: nastyString(),
              avatar: fc.oneof(fc.constant('https://example.com/a.png'), nastyString()),
              phone: fc.oneof(fc.constantFrom('+8613800138000', '13800138000', '+0', '+86 138'), nastyString()),
              snapshot: fc.oneof(fc.boolean(), nastyString()),
              error: fc.oneof(fc.integer(), fc.double(), nastyString()),
              appid: fc.oneof(fc.constantFrom('wx0000000000mini01', 'wx0000000000app001', 'wx-unknown'), nastyString()),
            },
            { requiredKeys: [] },
          )
          .map((body) => JSON.stringify(body)),
        hostileJsonText(),
      );
      await fc.assert(
        fc.asyncProperty(mintBody, fc.constantFrom('application/json', 'text/plain', undefined), async (body, contentType) => {
          const { response, unchanged } = await sendWatched('/sandbox/wechat/codes', { method: 'POST', headers: headersOf(contentType), body });
          const what = `mint ${contentType}: ${body.slice(0, 300)}`;
          // Only JSON, which a cross-origin page cannot send without a preflight, mints anything.
          if (contentType !== 'application/json') expect(response.status, what).toBe(415);
          if (response.status === 200) expect(await response.json(), what).toMatchObject({ code: expect.any(String), appid: expect.any(String) });
          // The fake's own messages quote values ("app"): it is a development tool, not an OAuth endpoint.
          else await expectJsonError(response, { 400: ['invalid_request'], 413: ['invalid_request'], 415: ['invalid_request'] }, what, { rfc6749Characters: false });
          unchanged();
        }),
        RUNS.narrow,
      );
    },
    PROPERTY_TIMEOUT,
  );
});
