// Auth.js (@auth/express) with the bridge as a generic OpenID Connect provider: sign in,
// a page with the session's sub and claims, and sign-out that also ends the session at
// the provider (OpenID Connect RP-Initiated Logout 1.0).
import { ExpressAuth, getSession } from '@auth/express';
import { getToken } from '@auth/core/jwt';
import express from 'express';

try {
  process.loadEnvFile(); // .env, written by `npm run register`; the environment wins
} catch {}

const { ISSUER, CLIENT_ID, CLIENT_SECRET, AUTH_SECRET, BASE_URL = 'http://localhost:3000', PORT = '3000' } = process.env;
if (!ISSUER || !CLIENT_ID || !CLIENT_SECRET || !AUTH_SECRET) {
  console.error('Set ISSUER, CLIENT_ID, CLIENT_SECRET and AUTH_SECRET (npm run register writes them to .env).');
  process.exit(1);
}

// The end_session_endpoint comes from discovery, like everything else about the provider.
const discovery = await (await fetch(`${ISSUER}/.well-known/openid-configuration`)).json();

const secureCookie = BASE_URL.startsWith('https:');
const authConfig = {
  secret: AUTH_SECRET,
  trustHost: true,
  providers: [
    {
      id: 'bridge',
      name: 'WeChat',
      type: 'oidc',
      issuer: ISSUER,
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      authorization: { params: { scope: 'openid profile wechat' } },
      checks: ['pkce', 'state', 'nonce'],
    },
  ],
  callbacks: {
    // At sign-in, keep the ID token's claims in Auth.js's (encrypted) session cookie,
    // and the ID token itself for the logout's id_token_hint.
    jwt({ token, account, profile }) {
      if (account && profile) {
        token.sub = profile.sub;
        token.claims = profile;
        token.idToken = account.id_token;
      }
      return token;
    },
    session({ session, token }) {
      // The page sees the claims, never the ID token.
      session.user.sub = token.sub;
      session.claims = token.claims;
      return session;
    },
  },
};

const app = express();
app.set('trust proxy', true);
app.use('/auth', ExpressAuth(authConfig));

const escape = (value) => String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const page = (body) => `<!doctype html><meta charset="utf-8"><title>Auth.js example</title>${body}`;

app.get('/', async (req, res) => {
  const session = await getSession(req, authConfig);
  if (!session) {
    res.send(page('<h1>Signed out</h1><p><a id="sign-in" href="/auth/signin?callbackUrl=/">Sign in</a></p>'));
    return;
  }
  const rows = Object.entries(session.claims ?? {})
    .map(([name, value]) => `<tr><th>${escape(name)}</th><td data-claim="${escape(name)}">${escape(value)}</td></tr>`)
    .join('');
  res.send(
    page(`<h1>Signed in</h1>
<p>sub: <code id="sub">${escape(session.user.sub)}</code></p>
<table>${rows}</table>
<form method="post" action="/logout"><button id="sign-out">Sign out</button></form>`),
  );
});

// Sign out here and at the provider: clear Auth.js's session cookie, then send the browser to the
// provider's end_session_endpoint with the ID token as id_token_hint; it comes back to BASE_URL.
app.post('/logout', async (req, res) => {
  // A form post from this site only: another site must not sign the user out.
  if (req.get('sec-fetch-site') && req.get('sec-fetch-site') !== 'same-origin') {
    res.status(403).send('Forbidden');
    return;
  }
  const cookieName = `${secureCookie ? '__Secure-' : ''}authjs.session-token`;
  const token = await getToken({ req, secret: AUTH_SECRET, secureCookie, cookieName, salt: cookieName });
  // The session cookie may be split into chunks (name.0, name.1, …).
  for (const name of Object.keys(parseCookies(req.get('cookie')))) {
    if (name === cookieName || name.startsWith(`${cookieName}.`)) res.clearCookie(name, { path: '/', secure: secureCookie, httpOnly: true, sameSite: 'lax' });
  }
  if (!token?.idToken) {
    res.redirect(303, '/');
    return;
  }
  const logout = new URL(discovery.end_session_endpoint);
  logout.searchParams.set('id_token_hint', token.idToken);
  logout.searchParams.set('post_logout_redirect_uri', `${BASE_URL}/`);
  res.redirect(303, logout.href);
});

function parseCookies(header = '') {
  return Object.fromEntries(header.split(';').map((part) => part.trim().split('=')).filter(([name]) => name));
}

app.listen(Number(PORT), () => console.log(`Auth.js example on ${BASE_URL}`));
