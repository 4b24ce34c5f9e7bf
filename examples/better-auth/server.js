// better-auth with its generic OAuth plugin, the bridge as a generic OpenID Connect provider
// found by discovery: sign in, a local user whose account is linked to the provider's sub,
// and sign-out here and at the provider (OpenID Connect RP-Initiated Logout 1.0).
import { betterAuth } from 'better-auth';
import { memoryAdapter } from 'better-auth/adapters/memory';
import { fromNodeHeaders, toNodeHandler } from 'better-auth/node';
import { genericOAuth } from 'better-auth/plugins/generic-oauth';
import express from 'express';

try {
  process.loadEnvFile(); // .env, written by `npm run register`; the environment wins
} catch {}

const { ISSUER, CLIENT_ID, CLIENT_SECRET, BETTER_AUTH_SECRET, BASE_URL = 'http://localhost:3001', PORT = '3001' } = process.env;
if (!ISSUER || !CLIENT_ID || !CLIENT_SECRET || !BETTER_AUTH_SECRET) {
  console.error('Set ISSUER, CLIENT_ID, CLIENT_SECRET and BETTER_AUTH_SECRET (npm run register writes them to .env).');
  process.exit(1);
}

const auth = betterAuth({
  baseURL: BASE_URL,
  secret: BETTER_AUTH_SECRET,
  // In memory, so the example needs no database: users are gone when it stops. Use a real adapter in an app.
  database: memoryAdapter({ user: [], session: [], account: [], verification: [] }),
  plugins: [
    genericOAuth({
      config: [
        {
          providerId: 'bridge',
          name: 'WeChat',
          discoveryUrl: `${ISSUER}/.well-known/openid-configuration`,
          // Refuse to start without the issuer and jwks_uri that verify ID tokens.
          requireIdTokenVerification: true,
          clientId: CLIENT_ID,
          clientSecret: CLIENT_SECRET,
          tokenEndpointAuth: { method: 'client_secret_basic' },
          scopes: ['openid', 'profile'],
          pkce: true,
          postLogoutRedirectURI: `${BASE_URL}/`,
          // better-auth's users need an email; the provider has none, so each user gets a
          // placeholder under the reserved .invalid domain (RFC 2606), never sent anywhere.
          mapProfileToUser: (profile) => ({
            name: profile.name ?? '',
            email: `${profile.sub}@users.invalid`,
            emailVerified: false,
          }),
        },
      ],
    }),
  ],
});

const app = express();
// better-auth reads its own request bodies: mount it before any body parser.
app.all('/api/auth/*splat', toNodeHandler(auth));

const escape = (value) => String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const page = (body) => `<!doctype html><meta charset="utf-8"><title>better-auth example</title>${body}`;

app.get('/', async (req, res) => {
  const headers = fromNodeHeaders(req.headers);
  const session = await auth.api.getSession({ headers });
  if (!session) {
    res.send(page('<h1>Signed out</h1><form method="post" action="/login"><button id="sign-in">Sign in with WeChat</button></form>'));
    return;
  }
  // The local user's account at the provider: its accountId is the provider's sub.
  const account = (await auth.api.listUserAccounts({ headers })).find((entry) => entry.providerId === 'bridge');
  res.send(
    page(`<h1>Signed in</h1>
<p>user: <code id="user-id">${escape(session.user.id)}</code> <span id="name">${escape(session.user.name)}</span></p>
<p>account at <code id="provider">${escape(account?.providerId)}</code>, sub: <code id="sub">${escape(account?.accountId)}</code></p>
<form method="post" action="/logout"><button id="sign-out">Sign out</button></form>`),
  );
});

/** Forwards the cookies better-auth set on its answer to the browser. */
function forwardCookies(response, res) {
  for (const cookie of response.headers.getSetCookie()) res.append('set-cookie', cookie);
}

// Sign in: better-auth makes the authorization request (state, PKCE, nonce in its cookie) and
// answers its URL; the browser goes there.
app.post('/login', async (req, res) => {
  const response = await auth.api.signInSocial({
    body: { provider: 'bridge', callbackURL: '/', errorCallbackURL: '/?error=1' },
    headers: fromNodeHeaders(req.headers),
    asResponse: true,
  });
  forwardCookies(response, res);
  const { url } = await response.json();
  res.redirect(303, url);
});

// Sign out: better-auth ends the local session and answers the provider's end_session_endpoint
// (with the ID token as id_token_hint) when the user's account has one.
app.post('/logout', async (req, res) => {
  const response = await auth.api.signOut({ headers: fromNodeHeaders(req.headers), body: { callbackURL: '/' }, asResponse: true });
  forwardCookies(response, res);
  const { url } = await response.json();
  res.redirect(303, url ?? '/');
});

app.listen(Number(PORT), () => console.log(`better-auth example on ${BASE_URL}`));
