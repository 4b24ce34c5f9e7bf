// Express + Passport with openid-client's strategy, the bridge as a generic OpenID Connect
// provider: sign in (authorization code, PKCE), a page with the sub and the ID token's
// claims, and sign-out here and at the provider (OpenID Connect RP-Initiated Logout 1.0).
import express from 'express';
import session from 'express-session';
import * as client from 'openid-client';
import { Strategy } from 'openid-client/passport';
import passport from 'passport';

try {
  process.loadEnvFile(); // .env, written by `npm run register`; the environment wins
} catch {}

const { ISSUER, CLIENT_ID, CLIENT_SECRET, SESSION_SECRET, BASE_URL = 'http://localhost:3002', PORT = '3002' } = process.env;
if (!ISSUER || !CLIENT_ID || !CLIENT_SECRET || !SESSION_SECRET) {
  console.error('Set ISSUER, CLIENT_ID, CLIENT_SECRET and SESSION_SECRET (npm run register writes them to .env).');
  process.exit(1);
}

const issuer = new URL(ISSUER);
// openid-client speaks plain http only when told to: the local provider (npm start) is http://localhost.
const insecure = issuer.protocol === 'http:' ? { execute: [client.allowInsecureRequests] } : undefined;
// register.mjs registers client_secret_basic (RFC 7591's default); openid-client would otherwise send the secret in the body.
const config = await client.discovery(issuer, CLIENT_ID, undefined, client.ClientSecretBasic(CLIENT_SECRET), insecure);

passport.use(
  new Strategy({ name: 'bridge', config, scope: 'openid profile wechat', callbackURL: `${BASE_URL}/login/callback` }, (tokens, verified) => {
    // The ID token is verified (signature against jwks_uri, iss, aud, nonce); its claims are the user.
    const claims = tokens.claims();
    verified(null, { sub: claims.sub, claims, idToken: tokens.id_token });
  }),
);
passport.serializeUser((user, done) => done(null, user));
passport.deserializeUser((user, done) => done(null, user));

const app = express();
app.use(
  session({
    secret: SESSION_SECRET,
    resave: false,
    saveUninitialized: false,
    cookie: { httpOnly: true, sameSite: 'lax', secure: BASE_URL.startsWith('https:') },
  }),
);
app.use(passport.session());

const escape = (value) => String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const page = (body) => `<!doctype html><meta charset="utf-8"><title>Passport example</title>${body}`;

app.get('/', (req, res) => {
  if (!req.user) {
    const error = req.query.error ? `<p id="error">Sign-in failed.</p>` : '';
    res.send(page(`<h1>Signed out</h1>${error}<p><a id="sign-in" href="/login">Sign in with WeChat</a></p>`));
    return;
  }
  const rows = Object.entries(req.user.claims)
    .map(([name, value]) => `<tr><th>${escape(name)}</th><td data-claim="${escape(name)}">${escape(value)}</td></tr>`)
    .join('');
  res.send(
    page(`<h1>Signed in</h1>
<p>sub: <code id="sub">${escape(req.user.sub)}</code></p>
<table>${rows}</table>
<form method="post" action="/logout"><button id="sign-out">Sign out</button></form>`),
  );
});

app.get('/login', passport.authenticate('bridge'));
app.get('/login/callback', passport.authenticate('bridge', { successRedirect: '/', failureRedirect: '/?error=1' }));

app.post('/logout', (req, res, next) => {
  // A form post from this site only: another site must not sign the user out.
  if (req.get('sec-fetch-site') && req.get('sec-fetch-site') !== 'same-origin') {
    res.status(403).send('Forbidden');
    return;
  }
  const idToken = req.user?.idToken;
  req.logout((error) => {
    if (error) return next(error);
    if (!idToken) return res.redirect(303, '/');
    const logout = client.buildEndSessionUrl(config, { id_token_hint: idToken, post_logout_redirect_uri: `${BASE_URL}/` });
    res.redirect(303, logout.href);
  });
});

app.listen(Number(PORT), () => console.log(`Passport example on ${BASE_URL}`));
