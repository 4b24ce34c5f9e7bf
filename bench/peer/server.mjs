// The benchmark peer: node-oidc-provider (panva), as a separate process so its CPU
// time can be read from its own /proc/<pid>/stat.
//
//   PORT=9000 node bench/peer/server.mjs
//
// Configuration, kept as close to the bridge as the library allows:
//   - issuer http://localhost:$PORT, listening on 127.0.0.1 only;
//   - one RS256 key (2048 bits, as `npm run keys` makes for the bridge), generated at start;
//   - the library's own in-memory adapter (no `adapter` option);
//   - one confidential client (client_secret_basic) for the code flow and refresh tokens;
//   - refresh tokens rotate on every use (`rotateRefreshToken: () => true`), as the bridge's do;
//   - findAccount returns a fixed account whose claims are the ones the bridge serves
//     for `openid profile` (sub, name, nickname, picture);
//   - the login interaction is a small custom route, the way an application embeds the
//     library: GET /interaction/<uid> renders the login page, POST /interaction/<uid>
//     logs the account in, grants the requested scopes and finishes the interaction with
//     provider.interactionFinished (devInteractions is off).
//
// It prints one JSON line `{"ready": true, ...}` on stdout when it is listening.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import Provider from 'oidc-provider';

const port = Number(process.env.PORT || 0);
const issuer = `http://localhost:${port}`;

const PEER_CLIENT = {
  client_id: 'bench-client',
  client_secret: 'bench-client-secret-0123456789abcdef',
  redirect_uris: ['https://rp.example/callback'],
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
  token_endpoint_auth_method: 'client_secret_basic',
};

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: 'jwk' }), kid: `peer-${randomBytes(4).toString('hex')}`, alg: 'RS256', use: 'sig' };

const provider = new Provider(issuer, {
  clients: [PEER_CLIENT],
  jwks: { keys: [jwk] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  claims: {
    openid: ['sub'],
    profile: ['name', 'nickname', 'picture'],
  },
  scopes: ['openid', 'profile', 'offline_access'],
  features: {
    devInteractions: { enabled: false },
    revocation: { enabled: true },
    introspection: { enabled: true },
    userinfo: { enabled: true },
  },
  pkce: { required: () => true },
  rotateRefreshToken: () => true,
  async findAccount(_ctx, id) {
    return {
      accountId: id,
      async claims() {
        return { sub: id, name: `Bench ${id}`, nickname: `bench-${id}`, picture: 'https://example.com/avatar.png' };
      },
    };
  },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  // Errors are part of what the benchmark counts; no HTML pages with stack traces.
  renderError(ctx, out) {
    ctx.type = 'json';
    ctx.body = out;
  },
});

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

const page = (uid) => `<!doctype html><html><head><meta charset="utf-8"><title>Sign in</title></head><body>
<form method="post" action="/interaction/${uid}"><input name="login" value=""><button>Sign in</button></form></body></html>`;

/** The application's login UI: what devInteractions would do, minus the form handling of passwords. */
async function interaction(req, res, uid) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) throw new Error('interaction mismatch');
  if (req.method === 'GET') {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
    res.end(page(uid));
    return;
  }
  if (req.method !== 'POST') {
    res.writeHead(405).end();
    return;
  }
  const form = new URLSearchParams(await readBody(req));
  const accountId = form.get('login') || 'bench-user';
  const { params } = details;
  const grant = new provider.Grant({ accountId, clientId: params.client_id });
  grant.addOIDCScope(String(params.scope));
  const grantId = await grant.save();
  await provider.interactionFinished(req, res, { login: { accountId }, consent: { grantId } }, { mergeWithLastSubmission: false });
}

const callback = provider.callback();
const server = createServer((req, res) => {
  const match = /^\/interaction\/([A-Za-z0-9_-]+)$/.exec(req.url ?? '');
  if (!match) return callback(req, res);
  interaction(req, res, match[1]).catch((error) => {
    if (!res.headersSent) res.writeHead(400, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ error: 'interaction_failed', error_description: String(error?.message ?? error) }));
  });
});
server.keepAliveTimeout = 60_000;
server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ ready: true, issuer, pid: process.pid, client: PEER_CLIENT })}\n`);
});

for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => server.close(() => process.exit(0)).closeAllConnections());
