// An API that accepts the bridge's access tokens (RFC 6750 Bearer tokens), checked two ways:
//   GET /api/jwt/me            the token as a JWT (RFC 9068) verified locally against jwks_uri with jose
//   GET /api/introspection/me  the token introspected at the provider (RFC 7662), with client credentials
// Both require REQUIRED_SCOPE and answer the token's sub, client_id and scope.
import { createServer } from 'node:http';
import { createRemoteJWKSet, errors, jwtVerify } from 'jose';

try {
  process.loadEnvFile(); // .env, written by `npm run register`; the environment wins
} catch {}

const { ISSUER, CLIENT_ID, CLIENT_SECRET, PORT = '3003', REQUIRED_SCOPE = 'profile' } = process.env;
if (!ISSUER || !CLIENT_ID || !CLIENT_SECRET) {
  console.error('Set ISSUER, CLIENT_ID and CLIENT_SECRET (npm run register writes them to .env).');
  process.exit(1);
}

const discovery = await (await fetch(`${ISSUER}/.well-known/openid-configuration`)).json();
// The provider's access tokens name the issuer itself as their audience (aud).
const AUDIENCE = process.env.AUDIENCE || discovery.issuer;
// Fetched when first needed, cached, and fetched again when a token names an unknown key (a rotation).
const jwks = createRemoteJWKSet(new URL(discovery.jwks_uri));

/** A refusal with the challenge of RFC 6750 §3. */
class Refusal extends Error {
  constructor(status, error, description) {
    super(description);
    this.status = status;
    this.error = error;
  }
}

/** The Bearer token of the request (RFC 6750 §2.1), or a refusal without an error code when there is none. */
function bearerToken(request) {
  const match = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i.exec(request.headers.authorization ?? '');
  if (match) return match[1];
  if (/^Bearer\b/i.test(request.headers.authorization ?? '')) throw new Refusal(400, 'invalid_request', 'malformed Bearer credentials');
  throw new Refusal(401);
}

function requireScope(scope) {
  if (!String(scope ?? '').split(' ').includes(REQUIRED_SCOPE)) throw new Refusal(403, 'insufficient_scope', `the token lacks the ${REQUIRED_SCOPE} scope`);
}

/** Local verification: signature against jwks_uri, iss, aud, exp, and the access token type (RFC 9068 §4). */
async function verifyJwt(token) {
  try {
    const { payload } = await jwtVerify(token, jwks, { issuer: discovery.issuer, audience: AUDIENCE, typ: 'at+jwt' });
    return payload;
  } catch (error) {
    if (error instanceof errors.JOSEError) throw new Refusal(401, 'invalid_token', 'the access token is not valid');
    throw error;
  }
}

/** Introspection: the provider says whether the token is live now, revocation included. */
async function introspect(token) {
  const credentials = Buffer.from(`${encodeURIComponent(CLIENT_ID)}:${encodeURIComponent(CLIENT_SECRET)}`).toString('base64');
  const response = await fetch(discovery.introspection_endpoint, {
    method: 'POST',
    headers: { authorization: `Basic ${credentials}`, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams({ token, token_type_hint: 'access_token' }),
  });
  if (!response.ok) throw new Error(`introspection answered ${response.status}`);
  const answer = await response.json();
  // A refresh token is active too, but it is no access token.
  if (answer.active !== true || answer.token_type !== 'Bearer') throw new Refusal(401, 'invalid_token', 'the access token is not active');
  return answer;
}

const routes = { '/api/jwt/me': verifyJwt, '/api/introspection/me': introspect };

function send(response, status, body, headers = {}) {
  response.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
  response.end(JSON.stringify(body));
}

createServer(async (request, response) => {
  const path = new URL(request.url, 'http://localhost').pathname;
  const check = routes[path];
  if (!check) return send(response, 404, { error: 'not_found' });
  if (request.method !== 'GET') return send(response, 405, { error: 'method_not_allowed' }, { allow: 'GET' });
  try {
    const claims = await check(bearerToken(request));
    requireScope(claims.scope);
    send(response, 200, { sub: claims.sub, client_id: claims.client_id, scope: claims.scope });
  } catch (error) {
    if (!(error instanceof Refusal)) {
      console.error(error);
      return send(response, 503, { error: 'temporarily_unavailable' });
    }
    // RFC 6750 §3: the realm, and the error (with the scope needed) only when the request had a token.
    const challenge = [`realm="api"`];
    if (error.error) challenge.push(`error="${error.error}"`, `error_description="${error.message}"`);
    if (error.error === 'insufficient_scope') challenge.push(`scope="${REQUIRED_SCOPE}"`);
    send(response, error.status, error.error ? { error: error.error, error_description: error.message } : { error: 'unauthorized' }, {
      'www-authenticate': `Bearer ${challenge.join(', ')}`,
    });
  }
}).listen(Number(PORT), () => console.log(`Resource server on http://localhost:${PORT} (requires the ${REQUIRED_SCOPE} scope)`));
