/**
 * Hostile input at the endpoints a browser visits: the authorization
 * endpoint (GET and POST), RP-initiated logout, a pending login's pages,
 * the device verification page, discovery and the JWKS. Before the client
 * and redirect_uri are known good, errors are HTML pages (docs/protocol.md §8);
 * after, they go back to the client; never to anywhere else.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { REDIRECT_URI } from '../support/browser';
import { ISSUER } from '../support/oidc';
import {
  expectHtmlError,
  expectJsonError,
  expectNoServerError,
  FORM,
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
import { expiredIdToken, forgedAccessTokens, LOOPBACK_REDIRECT, makeWorld, NATIVE_REDIRECT, type World } from './world';

let world: World;
let forged: string[];
let expiredHint: string;

beforeAll(async () => {
  world = await makeWorld();
  forged = Object.values(await forgedAccessTokens(world.victimTokens.access_token));
  expiredHint = await expiredIdToken(world.victimTokens.id_token!);
});

/** A query string from pieces: invalid UTF-8 goes as percent-encoded bytes, raw text as the URL parser encodes it. */
function queryOf(pieces: readonly Piece[]): string {
  return pieces
    .map((piece) => {
      if (piece.kind === 'bytes') return piece.bytes.map((byte) => `%${byte.toString(16).padStart(2, '0').toUpperCase()}`).join('');
      if (piece.kind === 'literal') return piece.text;
      if (piece.encoding === 'proper') return new URLSearchParams([[piece.name, piece.value]]).toString();
      return `${piece.name}=${piece.value}`;
    })
    .join('&');
}

/** The parameters as the provider reads them; undefined when one is repeated (RFC 6749 §3.1: an error). */
/** A form_post page read as the URL it stands for: the form's action, with its fields as the query. */
async function postedAnswer(response: Response): Promise<URL> {
  const page = await response.text();
  const unescape = (text: string) => text.replace(/&(quot|#39|lt|gt|amp);/g, (_, entity: string) => ({ quot: '"', '#39': "'", lt: '<', gt: '>', amp: '&' })[entity]!);
  const forms = [...page.matchAll(/<form method="post" action="([^"]+)">/g)];
  expect(forms).toHaveLength(1);
  const url = new URL(unescape(forms[0]![1]!));
  for (const [, name, value] of page.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"\/>/g)) url.searchParams.set(unescape(name!), unescape(value!));
  return url;
}

function readAsProvider(search: URLSearchParams): Map<string, string> | undefined {
  const params = new Map<string, string>();
  for (const [name, value] of search) {
    if (params.has(name)) return undefined;
    if (value !== '') params.set(name, value);
  }
  return params;
}

const CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';

describe('hostile input: the authorization endpoint', () => {
  /** Each authorization parameter with meaningful values, right and wrong. */
  const values = (): Record<string, fc.Arbitrary<string>> => ({
    client_id: fc.constantFrom(world.victim.client_id, world.publicClient.client_id, world.postClient.client_id, 'no-such-client'),
    redirect_uri: fc.constantFrom(
      REDIRECT_URI,
      NATIVE_REDIRECT,
      LOOPBACK_REDIRECT,
      'http://127.0.0.1:5555/cb',
      'http://127.0.0.1:99999/cb',
      'http://[::1]:8080/cb',
      'http://localhost/cb',
      `${REDIRECT_URI}/x`,
      `${REDIRECT_URI}?x=1`,
      `${REDIRECT_URI}#f`,
      REDIRECT_URI.toUpperCase(),
      'https://rp.example.evil.example/callback',
      'https://evil.example/callback',
      'javascript:alert(1)',
    ),
    response_type: fc.constantFrom('code', 'token', 'code id_token', 'id_token', 'none'),
    scope: fc.constantFrom('openid', 'openid profile phone wechat offline_access', 'profile', 'admin', 'openid\u0000'),
    state: fc.constantFrom('s', 'x'.repeat(2049)),
    nonce: fc.constantFrom('n', 'x'.repeat(5000)),
    code_challenge: fc.constantFrom(CHALLENGE, 'short', `${CHALLENGE}=`, 'x'.repeat(128)),
    code_challenge_method: fc.constantFrom('S256', 'plain', 's256'),
    prompt: fc.constantFrom('none', 'login', 'consent', 'none login', 'select_account consent', 'bogus', ' '),
    max_age: fc.constantFrom('0', '60', '-1', '1e3', '99999999999', '1.5'),
    ui_locales: fc.constantFrom('en', 'zh-CN', 'fr', '*', 'en;q=1'),
    response_mode: fc.constantFrom('query', 'fragment', 'form_post'),
    request: fc.constant('eyJhbGciOiJub25lIn0.e30.'),
    request_uri: fc.constant('https://evil.example/request.jwt'),
    login_hint: fc.constant('someone'),
    claims: fc.constant('{"userinfo":{"phone_number":null}}'),
  });

  /** Mostly a plausible request: a client and redirect_uri, then anything. */
  const authorizationRequest = () => {
    const all = values();
    const names = Object.keys(all);
    const pair = (name: string, value: fc.Arbitrary<string>) => value.map((v): Piece => ({ kind: 'pair', name, value: v, encoding: 'proper' }));
    const good = fc.constantFrom(
      [world.victim.client_id, REDIRECT_URI],
      [world.publicClient.client_id, NATIVE_REDIRECT],
      [world.publicClient.client_id, LOOPBACK_REDIRECT],
      [world.publicClient.client_id, 'http://127.0.0.1:5555/cb'],
    );
    const target = fc.oneof(
      good.chain(([clientId, redirectUri]) => fc.tuple(pair('client_id', fc.constant(clientId!)).map((p) => p as Piece | null), pair('redirect_uri', fc.constant(redirectUri!)).map((p) => p as Piece | null))),
      fc.tuple(
        fc.option(pair('client_id', fc.oneof({ weight: 4, arbitrary: all.client_id! }, { weight: 1, arbitrary: nastyString() })), { freq: 8 }),
        fc.option(pair('redirect_uri', fc.oneof({ weight: 4, arbitrary: all.redirect_uri! }, { weight: 1, arbitrary: nastyString() })), { freq: 8 }),
      ),
    );
    return fc
      .record({
        target,
        rest: fc.array(fc.constantFrom(...names).chain((name) => pair(name, fc.oneof({ weight: 3, arbitrary: all[name]! }, { weight: 1, arbitrary: nastyString() }))), { maxLength: 8 }),
        noise: fc.oneof({ weight: 4, arbitrary: fc.constant([] as Piece[]) }, { weight: 1, arbitrary: formPieces(names, fc.oneof(...Object.values(all))) }),
      })
      .map(({ target, rest, noise }) => [...target.filter((piece): piece is Piece => piece !== null), ...rest, ...noise]);
  };

  /** RFC 6749 §3.1.2.3 exact match; RFC 8252 §7.3 any port for a native client's loopback redirect. */
  function registeredFor(clientId: string | undefined, redirectUri: string | undefined): boolean {
    const client = [world.victim, world.publicClient, world.postClient, world.basicClient].find((candidate) => candidate.client_id === clientId);
    if (!client || !redirectUri) return false;
    const registered = client.redirect_uris as string[];
    if (registered.includes(redirectUri)) return true;
    if (client.application_type !== 'native') return false;
    try {
      const url = new URL(redirectUri);
      if (url.protocol !== 'http:' || !['127.0.0.1', '[::1]'].includes(url.hostname)) return false;
      url.port = '';
      return registered.some((candidate) => {
        const base = new URL(candidate);
        base.port = '';
        return base.protocol === 'http:' && base.href === url.href;
      });
    } catch {
      return false;
    }
  }

  it(
    'answers with an HTML error page until client and redirect_uri are good, then only ever redirects to that redirect_uri',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          authorizationRequest(),
          fc.constantFrom('GET', 'POST'),
          fc.oneof({ weight: 5, arbitrary: fc.constant(FORM) }, { weight: 1, arbitrary: fc.constantFrom('application/json', 'multipart/form-data; boundary=x', 'text/plain', undefined) }),
          fc.constantFrom(undefined, 'bridge_session=%ZZ', `bridge_session=${'a'.repeat(200)}`, 'bridge_session=; bridge_session=x', '=;;=', '\u00ff=\u00fe'),
          async (pieces, method, contentType, cookie) => {
            const query = queryOf(pieces);
            const headers = headersOf(method === 'POST' ? contentType : undefined, undefined, cookie ? { Cookie: headerSafe(cookie) } : {});
            const path = method === 'GET' ? `/authorize?${query}` : '/authorize';
            const body = method === 'POST' ? formBytes(pieces) : undefined;
            const { response, unchanged } = await sendWatched(path, { method, headers, body });
            const what = `${method} /authorize ${contentType ?? ''} ${query.slice(0, 500)}`;
            await expectNoServerError(response, what);
            if (response.status === 413) {
              await expectJsonError(response, { 413: ['invalid_request'] }, what);
              return unchanged();
            }

            // What the provider read: the URL's query for GET, the form body for POST.
            const formBody = method === 'POST' && /^application\/x-www-form-urlencoded/i.test(contentType ?? '');
            const search = method === 'GET' ? new URL(`${ISSUER}${path}`).searchParams : new URLSearchParams(formBody ? new TextDecoder().decode(body) : '');
            const params = method === 'POST' && !formBody ? undefined : readAsProvider(search);
            const trusted = params !== undefined && registeredFor(params.get('client_id'), params.get('redirect_uri'));

            if (!trusted) {
              await expectHtmlError(response, [400], what);
              return unchanged();
            }
            const location = response.headers.get('Location') ?? '';
            if (response.status === 303) {
              // A pending login: the one success possible without a session.
              expect(location, what).toMatch(/^\/login\/[A-Za-z0-9_-]{1,32}$/);
              return;
            }
            const presented = new URL(params.get('redirect_uri')!);
            // OAuth 2.0 Form Post Response Mode §2: asked for with an http(s) redirect_uri, the error is a form posting there.
            const posted = response.status === 200 && params.get('response_mode') === 'form_post' && /^https?:$/.test(presented.protocol);
            if (!posted) expect(response.status, what).toBe(302);
            const back = posted ? await postedAnswer(response) : new URL(location);
            expect(`${back.origin}${back.pathname}`, what).toBe(`${presented.origin}${presented.pathname}`);
            expect(back.searchParams.get('iss'), what).toBe(ISSUER);
            expect(back.searchParams.get('error'), what).toMatch(/^[\x20-\x21\x23-\x5B\x5D-\x7E]+$/);
            const description = back.searchParams.get('error_description');
            if (description !== null) expect(description, what).toMatch(/^[\x20-\x21\x23-\x5B\x5D-\x7E]{1,512}$/);
            expect(back.searchParams.has('code'), what).toBe(false);
            unchanged();
          },
        ),
        { numRuns: 100 },
      );
    },
    PROPERTY_TIMEOUT,
  );
});

describe('hostile input: RP-initiated logout', () => {
  it(
    'never redirects to an unregistered URI, answers forged hints with an error page, and writes nothing without a session',
    async () => {
      const value = (choices: fc.Arbitrary<string>) => fc.oneof({ weight: 3, arbitrary: choices }, { weight: 1, arbitrary: nastyString() });
      const logoutParams = fc.record(
        {
          id_token_hint: value(fc.constantFrom(world.victimTokens.id_token!, expiredHint, world.victimTokens.access_token, ...forged)),
          post_logout_redirect_uri: value(fc.constantFrom('https://rp.example/signed-out', 'https://rp.example/signed-out/x', 'https://evil.example/', REDIRECT_URI)),
          client_id: value(fc.constantFrom(world.victim.client_id, world.basicClient.client_id)),
          state: value(fc.constant('s')),
          ui_locales: value(fc.constantFrom('en', 'zh-CN')),
        },
        { requiredKeys: [] },
      );
      await fc.assert(
        fc.asyncProperty(logoutParams, fc.constantFrom('GET', 'POST'), fc.boolean(), async (params, method, repeat) => {
          const pieces: Piece[] = Object.entries(params).map(([name, v]) => ({ kind: 'pair', name, value: v, encoding: 'proper' }));
          if (repeat && pieces.length > 0) pieces.push(pieces[0]!);
          const query = queryOf(pieces);
          const path = method === 'GET' ? `/logout?${query}` : '/logout';
          const { response, unchanged } = await sendWatched(path, {
            method,
            headers: headersOf(method === 'POST' ? FORM : undefined),
            body: method === 'POST' ? formBytes(pieces) : undefined,
          });
          const what = `${method} /logout ${query.slice(0, 400)}`;
          await expectNoServerError(response, what);
          if (response.status === 302) {
            // Only to the victim's registered post-logout URI, and only for the victim.
            expect(response.headers.get('Location'), what).toMatch(/^https:\/\/rp\.example\/signed-out(\?state=[^&]*)?$/);
            expect(params.post_logout_redirect_uri, what).toBe('https://rp.example/signed-out');
          } else if (response.status === 200) {
            expect(response.headers.get('Content-Type'), what).toMatch(/^text\/html/);
          } else if (response.status === 413) {
            await expectJsonError(response, { 413: ['invalid_request'] }, what);
          } else {
            await expectHtmlError(response, [400], what);
          }
          unchanged();
        }),
        RUNS.medium,
      );
    },
    PROPERTY_TIMEOUT,
  );
});

describe('hostile input: pending logins and the device page', () => {
  it(
    'answers unknown, malformed and other browsers’ logins with a 404 (JSON for the status and the code, HTML for pages) and writes nothing',
    async () => {
      const id = fc.oneof(
        { weight: 2, arbitrary: fc.constantFrom(world.victimLoginId, 'unknown-login', 'A'.repeat(32), 'A'.repeat(33), 'BCDF-GHJK') },
        { weight: 1, arbitrary: nastyString().map((value) => encodeURIComponent(value.replace(/[\uD800-\uDFFF]/g, '?'))) },
        { weight: 1, arbitrary: fc.constantFrom('%ZZ', '%C0%AF', '%00', '%2F', 'a%2Fb') },
      ).filter((candidate) => !['', '.', '..'].includes(candidate)); // those are other paths (/login/, dot segments)
      const cookie = fc.constantFrom(
        undefined,
        'bridge_login_X=garbage',
        `bridge_login_X=${'a'.repeat(5000)}`,
        'bridge_login_X=%ZZ',
        'bridge_login_X',
        '=; ;=',
        `bridge_login_X=${world.victimBrowser.cookie(`bridge_login_${world.victimLoginId}`) ?? ''}x`,
      );
      await fc.assert(
        fc.asyncProperty(id, fc.constantFrom('', '/status', '/qr', '/open', '/continue'), cookie, async (loginId, page, cookieHeader) => {
          const path = `/login/${loginId}${page}`;
          const headers = cookieHeader ? { Cookie: cookieHeader.replace('X', loginId) } : undefined;
          const { response, unchanged } = await sendWatched(path, { headers });
          const what = `GET ${path.slice(0, 200)} with ${cookieHeader?.slice(0, 40)}`;
          if (page === '/status' || page === '/qr') await expectJsonError(response, { 404: ['login_not_found', 'not_found'] }, what);
          else await expectHtmlError(response, [404], what);
          unchanged();
        }),
        RUNS.narrow,
      );
    },
    PROPERTY_TIMEOUT,
  );

  it(
    'the device page answers any user_code with the form, a redirect to its login, or a 404 page, and writes nothing',
    async () => {
      const userCode = fc.oneof(
        fc.constantFrom(world.victimUserCode, world.victimUserCode.toLowerCase(), world.victimUserCode.replace('-', ''), world.victimLoginId, 'BCDF-GHJK', 'AAAA-AAAA'),
        nastyString(),
      );
      await fc.assert(
        fc.asyncProperty(fc.option(userCode), fc.boolean(), async (code, twice) => {
          const query = code === null ? '' : `?${new URLSearchParams([['user_code', code], ...(twice ? [['user_code', 'BCDF-GHJK'] as [string, string]] : [])])}`;
          const { response, unchanged } = await sendWatched(`/device${query}`, {});
          const what = `GET /device${query.slice(0, 200)}`;
          await expectNoServerError(response, what);
          if (response.status === 303) expect(response.headers.get('Location'), what).toBe(`/login/${world.victimUserCode}`);
          else if (response.status === 200) expect(response.headers.get('Content-Type'), what).toMatch(/^text\/html/);
          else await expectHtmlError(response, [404], what);
          unchanged();
        }),
        RUNS.narrow,
      );
    },
    PROPERTY_TIMEOUT,
  );
});

describe('hostile input: discovery and keys', () => {
  it(
    'serves discovery and the JWKS whatever the query and headers, and never a private key',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom('/.well-known/openid-configuration', '/jwks'),
          fc.array(fc.tuple(nastyString(), nastyString()), { maxLength: 4 }),
          fc.constantFrom(undefined, 'Bearer x', 'Basic !!!'),
          fc.constantFrom(undefined, 'zh-CN', '*;q=0', 'x'.repeat(5000)),
          async (path, query, authorization, language) => {
            const search = new URLSearchParams(query.map(([name, value]): [string, string] => [name.replace(/[\uD800-\uDFFF]/g, '?'), value.replace(/[\uD800-\uDFFF]/g, '?')]));
            const headers = headersOf(undefined, authorization, language ? { 'Accept-Language': language } : {});
            const { response, unchanged } = await sendWatched(`${path}?${search}`, { headers });
            expect(response.status).toBe(200);
            const body = await response.json<Record<string, unknown>>();
            if (path === '/jwks') {
              for (const key of body.keys as Record<string, unknown>[]) for (const secret of ['d', 'p', 'q', 'dp', 'dq', 'qi']) expect(key).not.toHaveProperty(secret);
            } else {
              expect(body.issuer).toBe(ISSUER);
            }
            unchanged();
          },
        ),
        { numRuns: 15 },
      );
    },
    PROPERTY_TIMEOUT,
  );
});
