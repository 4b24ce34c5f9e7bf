/**
 * Hostile input where tokens are presented: the UserInfo endpoint (GET and
 * POST, RFC 6750), introspection (RFC 7662) and revocation (RFC 7009),
 * with forged, expired, foreign and malformed tokens.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { call } from '../support/oidc';
import {
  expectJsonError,
  FORM,
  FORM_CONTENT_TYPES,
  formBytes,
  formPieces,
  headersOf,
  headerSafe,
  nastyString,
  PROPERTY_TIMEOUT,
  RUNS,
  sendWatched,
  type Piece,
} from './support';
import { credentialOptions, forgedAccessTokens, makeWorld, type World } from './world';

let world: World;
let forged: Record<string, string>;

beforeAll(async () => {
  world = await makeWorld();
  forged = await forgedAccessTokens(world.victimTokens.access_token);
});

const forgedToken = () => fc.constantFrom(...Object.keys(forged)).map((label) => ({ label, token: forged[label]! }));

/** Any token that is not a live access token: forged ones, the wrong kind, or nonsense. */
const invalidToken = () =>
  fc.oneof(
    { weight: 3, arbitrary: forgedToken() },
    { weight: 1, arbitrary: fc.constant({ label: 'an ID token', token: world.victimTokens.id_token! }) },
    { weight: 1, arbitrary: fc.constant({ label: 'a refresh token', token: world.victimTokens.refresh_token! }) },
    { weight: 2, arbitrary: nastyString().map((token) => ({ label: 'nonsense', token })) },
  );

const USERINFO_ERRORS = { 400: ['invalid_request'], 401: ['invalid_token'], 403: ['insufficient_scope'], 413: ['invalid_request'] } as const;

describe('hostile input: UserInfo', () => {
  it(
    'answers 401 invalid_token with a Bearer challenge to every forged, expired or foreign token, GET or POST',
    async () => {
      await fc.assert(
        fc.asyncProperty(invalidToken(), fc.constantFrom('header', 'body', 'query'), fc.constantFrom('GET', 'POST'), async ({ label, token }, where, method) => {
          if (where === 'body' && method === 'GET') return;
          const headers = new Headers();
          let path = '/userinfo';
          let body: string | undefined;
          if (where === 'header') headers.set('Authorization', `Bearer ${headerSafe(token)}`);
          if (where === 'body') {
            headers.set('Content-Type', FORM);
            body = new URLSearchParams({ access_token: token }).toString();
          }
          // RFC 6750 §2.3 (URI query) is not supported: such a token is no token.
          if (where === 'query') path += `?${new URLSearchParams({ access_token: token })}`;
          const { response, unchanged } = await sendWatched(path, { method, headers, body });
          const what = `${method} userinfo, ${label} in the ${where}`;
          const error = await expectJsonError(response, USERINFO_ERRORS, what);
          if (response.status === 413) return unchanged();
          expect(response.status, what).toBe(401);
          expect(error.error, what).toBe('invalid_token');
          expect(response.headers.get('WWW-Authenticate'), what).toMatch(/^Bearer\b/);
          unchanged();
        }),
        RUNS.medium,
      );
    },
    PROPERTY_TIMEOUT,
  );

  it(
    'answers malformed Authorization headers, doubled tokens and odd bodies with the RFC 6750 errors and a challenge',
    async () => {
      const authorization = fc.oneof(
        fc.constant(undefined),
        fc.constantFrom('', 'Bearer', 'Bearer ', 'bearer x', 'Basic eDp5', 'Bearer a b', 'Bearer %FF', 'Token x', `Bearer ${'a'.repeat(10_000)}`),
        nastyString().map((value) => `Bearer ${headerSafe(value)}`),
        fc.constant(`Bearer ${world.ownTokens.access_token}`),
      );
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom('GET', 'POST'),
          authorization,
          fc.constantFrom(...FORM_CONTENT_TYPES),
          formPieces(['access_token', 'scope', 'claims'], fc.constantFrom(world.ownTokens.access_token, ...Object.values(forged))),
          async (method, header, contentType, pieces) => {
            const body = method === 'POST' ? formBytes(pieces) : undefined;
            const { response, unchanged } = await sendWatched('/userinfo', { method, headers: headersOf(method === 'POST' ? contentType : undefined, header), body });
            const what = `${method} userinfo with ${String(header).slice(0, 80)} and ${JSON.stringify(pieces).slice(0, 300)}`;
            if (response.status === 200) {
              // Only the attacker's own live token, sent once, works.
              expect((await response.json<Record<string, unknown>>()).sub, what).toEqual(expect.any(String));
              return;
            }
            await expectJsonError(response, USERINFO_ERRORS, what);
            if (response.status !== 413) expect(response.headers.get('WWW-Authenticate'), what).toMatch(/^Bearer\b/);
            unchanged();
          },
        ),
        RUNS.narrow,
      );
    },
    PROPERTY_TIMEOUT,
  );
});

/** Sends a form to introspection or revocation with the given credentials and extra pieces. */
async function sendTokenForm(path: string, credentials: ReturnType<typeof credentialOptions>[number], params: Record<string, string>, noise: Piece[], contentType: string | undefined = FORM) {
  const pieces: Piece[] = [
    ...Object.entries({ ...params, ...credentials.body }).map(([name, value]): Piece => ({ kind: 'pair', name, value, encoding: 'proper' })),
    ...noise,
  ];
  return sendWatched(path, { method: 'POST', headers: headersOf(contentType, credentials.authorization), body: formBytes(pieces) });
}

describe('hostile input: introspection and revocation', () => {
  /** A token this client may present but that is never its own live token. */
  const notOwnToken = () =>
    fc.oneof(
      { weight: 3, arbitrary: invalidToken() },
      { weight: 2, arbitrary: fc.constantFrom({ label: "the victim's access token", token: world.victimTokens.access_token }, { label: "the victim's refresh token", token: world.victimTokens.refresh_token! }) },
    );

  it(
    'introspection says only active:false about tokens that are forged or not the client’s, and writes nothing',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...credentialOptions(world)),
          notOwnToken(),
          fc.constantFrom(undefined, 'access_token', 'refresh_token', 'id_token', '\u0000'),
          fc.oneof({ weight: 3, arbitrary: fc.constant([] as Piece[]) }, { weight: 1, arbitrary: formPieces(['token', 'token_type_hint', 'client_id'], nastyString()) }),
          async (credentials, { label, token }, hint, noise) => {
            const params: Record<string, string> = { token, ...(hint && { token_type_hint: hint }) };
            const { response, unchanged } = await sendTokenForm('/introspect', credentials, params, noise);
            const what = `${credentials.label} introspects ${label}`;
            if (response.status === 200) {
              expect(credentials.valid, what).toBe(true);
              expect(await response.json(), what).toEqual({ active: false });
            } else {
              const error = await expectJsonError(response, { 400: ['invalid_request'], 401: ['invalid_client'], 413: ['invalid_request'] }, what);
              if (error.error === 'invalid_client') expect(response.headers.get('WWW-Authenticate'), what).toMatch(/^Basic /);
              // Well-formed requests from a client that authenticates are not refused.
              if (credentials.valid && noise.length === 0 && token !== '') expect.fail(`${what}: ${JSON.stringify(error)}`);
            }
            unchanged();
          },
        ),
        RUNS.medium,
      );
    },
    PROPERTY_TIMEOUT,
  );

  it(
    'revocation answers 200 for forged and foreign tokens without revoking anything, and errors with the RFC shape',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...credentialOptions(world)),
          notOwnToken(),
          fc.constantFrom(undefined, 'access_token', 'refresh_token', 'id_token', 'device_code', '\u0000'),
          fc.oneof({ weight: 3, arbitrary: fc.constant([] as Piece[]) }, { weight: 1, arbitrary: formPieces(['token', 'token_type_hint', 'client_id'], nastyString()) }),
          async (credentials, { label, token }, hint, noise) => {
            const params: Record<string, string> = { token, ...(hint && { token_type_hint: hint }) };
            const { response, unchanged } = await sendTokenForm('/revoke', credentials, params, noise);
            const what = `${credentials.label} revokes ${label} (hint ${hint})`;
            if (response.status !== 200) {
              const error = await expectJsonError(response, { 400: ['invalid_request'], 401: ['invalid_client'], 413: ['invalid_request'] }, what);
              if (error.error === 'invalid_client') expect(response.headers.get('WWW-Authenticate'), what).toMatch(/^Basic /);
            } else {
              expect(credentials.valid, what).toBe(true);
            }
            unchanged();
          },
        ),
        RUNS.medium,
      );
      // The victim's tokens survived all of it.
      expect((await call('/userinfo', { headers: { Authorization: `Bearer ${world.victimTokens.access_token}` } })).status).toBe(200);
    },
    PROPERTY_TIMEOUT,
  );
});
