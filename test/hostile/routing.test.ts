/**
 * Hostile input, routing: wrong methods (405 with Allow), unknown paths
 * (404), bodies near and over the 64 KiB limit (413), all as JSON errors,
 * none of them touching D1 or KV.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { call } from '../support/oidc';
import { expectJsonError, expectNoServerError, FORM, PROPERTY_TIMEOUT, RUNS, sendWatched } from './support';
import { makeWorld, type World } from './world';

let world: World;
beforeAll(async () => {
  world = await makeWorld();
});

/** Every route of docs/protocol.md and the methods it answers (HEAD goes with GET). */
const ROUTES: Record<string, readonly string[]> = {
  '/.well-known/openid-configuration': ['GET'],
  '/jwks': ['GET'],
  '/register': ['POST'],
  '/token': ['POST'],
  '/userinfo': ['GET', 'POST'],
  '/revoke': ['POST'],
  '/introspect': ['POST'],
  '/authorize': ['GET', 'POST'],
  '/login/LOGIN': ['GET'],
  '/login/LOGIN/status': ['GET'],
  '/login/LOGIN/qr': ['GET'],
  '/login/LOGIN/open': ['GET'],
  '/login/LOGIN/continue': ['GET'],
  '/wechat/handoff': ['POST'],
  '/wechat/account': ['POST'],
  '/wechat/account/revoke': ['POST'],
  '/wechat/account/delete': ['POST'],
  '/device_authorization': ['POST'],
  '/device': ['GET'],
  '/logout': ['GET', 'POST'],
  '/logout/confirm': ['POST'],
  '/sandbox/wechat/codes': ['POST'],
  '/admin/users': ['GET', 'POST'],
  '/admin/users/SUB': ['DELETE'],
  '/admin/users/SUB/revoke': ['POST'],
  '/admin/audit': ['GET'],
};
/** CORS preflights (OPTIONS) are answered on the endpoints browsers call across origins. */
const CORS = new Set(['/.well-known/openid-configuration', '/jwks', '/token', '/userinfo', '/device_authorization']);
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'PROPFIND', 'PURGE'];

const allowHeader = (methods: readonly string[]) => (methods.includes('GET') ? [...methods, 'HEAD'] : [...methods]).sort();

describe('hostile input: methods and paths', () => {
  it(
    'answers a method an endpoint does not serve with 405, Allow and a JSON error, and changes nothing',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...Object.keys(ROUTES)),
          fc.constantFrom(...METHODS),
          fc.constantFrom(undefined, FORM, 'application/json', 'text/plain'),
          fc.constantFrom('', 'a=b', '{"a":1}'),
          async (template, method, contentType, body) => {
            const allowed = ROUTES[template]!;
            if (allowed.includes(method) || (method === 'HEAD' && allowed.includes('GET'))) return;
            if (method === 'OPTIONS' && CORS.has(template)) return;
            const path = template.replace('LOGIN', world.victimLoginId).replace('SUB', 'nobody');
            const headers: Record<string, string> = contentType ? { 'Content-Type': contentType } : {};
            const withBody = method !== 'GET' && method !== 'HEAD' && body !== '';
            const { response, unchanged } = await sendWatched(path, { method, headers, body: withBody ? body : undefined });
            const what = `${method} ${path}`;
            expect(response.status, what).toBe(405);
            expect(response.headers.get('Allow')?.split(/,\s*/).sort(), what).toEqual(allowHeader(allowed));
            if (method !== 'HEAD') await expectJsonError(response, { 405: ['method_not_allowed'] }, what);
            unchanged();
          },
        ),
        RUNS.medium,
      );
    },
    PROPERTY_TIMEOUT,
  );

  it('answers CORS preflights on the cross-origin endpoints', async () => {
    for (const path of CORS) {
      const response = await call(path, { method: 'OPTIONS', headers: { Origin: 'https://rp.example', 'Access-Control-Request-Method': 'POST' } });
      expect(response.status, path).toBe(204);
      expect(response.headers.get('Access-Control-Allow-Origin'), path).toBe('*');
    }
  });

  it(
    'answers unknown paths with a 404 JSON error, whatever the method, and changes nothing',
    async () => {
      const known = new Set(Object.keys(ROUTES));
      const path = fc.oneof(
        fc.webPath().filter((candidate) => candidate.length > 0),
        fc.constantFrom(
          '/token/',
          '/TOKEN',
          '//token',
          '/token%00',
          '/token;jsessionid=1',
          '/%ZZ',
          '/%C0%AF',
          '/login',
          '/login/',
          '/login/a/b/c',
          '/login/a/status/x',
          '/.well-known/',
          '/.well-known/oauth-authorization-server',
          '/sandbox/wechat',
          '/sandbox/wechat/codes/x',
          '/wechat',
          '/wechat/handoff/',
          '/sns/jscode2session',
          '/cgi-bin/stable_token',
          '/' + 'a'.repeat(8_000),
          '/\u00e9',
          '/..%2f..%2fetc%2fpasswd',
        ),
      );
      await fc.assert(
        fc.asyncProperty(path, fc.constantFrom(...METHODS), async (candidate, method) => {
          if (known.has(candidate) || /^\/login\/[^/]+(\/(status|qr|open|continue))?$/.test(candidate)) return;
          // CORS answers preflights under /.well-known/ whatever the path.
          if (method === 'OPTIONS' && candidate.startsWith('/.well-known/')) return;
          const { response, unchanged } = await sendWatched(candidate, { method });
          const what = `${method} ${candidate.slice(0, 100)}`;
          expect(response.status, what).toBe(404);
          if (method !== 'HEAD') await expectJsonError(response, { 404: ['not_found'] }, what);
          unchanged();
        }),
        RUNS.narrow,
      );
    },
    PROPERTY_TIMEOUT,
  );
});

/** Endpoints that take a body, with the answer an under-limit nonsense body gets. */
const POST_ENDPOINTS = [
  '/register',
  '/token',
  '/userinfo',
  '/revoke',
  '/introspect',
  '/authorize',
  '/wechat/handoff',
  '/device_authorization',
  '/logout',
  '/sandbox/wechat/codes',
  '/admin/users',
];
const LIMIT = 64 * 1024;

describe('hostile input: body size', () => {
  it(
    'refuses a body over 64 KiB with 413 and a JSON error, streamed or not, and accepts one at the limit as input',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...POST_ENDPOINTS),
          fc.constantFrom(LIMIT - 1, LIMIT, LIMIT + 1, LIMIT + 4096, 4 * LIMIT, 1024 * 1024),
          fc.constantFrom(FORM, 'application/json', 'multipart/form-data; boundary=x'),
          fc.boolean(),
          async (path, size, contentType, streamed) => {
            const filler = contentType === 'application/json' ? `{"x":"${'a'.repeat(Math.max(0, size - 8))}"}` : `x=${'a'.repeat(size - 2)}`;
            const bytes = new TextEncoder().encode(filler).slice(0, size);
            const body = streamed
              ? new ReadableStream<Uint8Array>({
                  start(controller) {
                    for (let offset = 0; offset < bytes.length; offset += 16_384) controller.enqueue(bytes.slice(offset, offset + 16_384));
                    controller.close();
                  },
                })
              : bytes;
            const headers = { 'Content-Type': contentType, Authorization: 'Bearer test-registration-token' };
            const { response, unchanged } = await sendWatched(path, { method: 'POST', headers, body, ...(streamed && { duplex: 'half' }) } as RequestInit);
            const what = `POST ${path} ${size} bytes ${streamed ? 'streamed' : ''} ${contentType}`;
            await expectNoServerError(response, what);
            if (size > LIMIT) {
              expect(response.status, what).toBe(413);
              await expectJsonError(response, { 413: ['invalid_request'] }, what);
            } else {
              expect(response.status, what).not.toBe(413);
            }
            unchanged();
          },
        ),
        RUNS.narrow,
      );
    },
    PROPERTY_TIMEOUT,
  );
});
