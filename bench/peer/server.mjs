// The benchmark peer: node-oidc-provider (panva), as a separate process so its CPU
// time can be read from its own /proc/<pid>/stat.
//
//   PORT=9000 node bench/peer/server.mjs
//
// Configuration, kept as close to the bridge as the library allows:
//   - issuer http://localhost:$PORT, listening on 127.0.0.1 only;
//   - one RS256 key (2048 bits, as `npm run keys` makes for the bridge), generated at start;
//   - storage: the library's own in-memory adapter (no `adapter` option), or, with
//     REDIS_URL set, Redis through bench/peer/redis-adapter.mjs (production-shaped);
//   - one confidential client (client_secret_basic) for the code flow and refresh tokens;
//   - refresh tokens rotate on every use (`rotateRefreshToken: () => true`), as the bridge's do;
//   - findAccount returns a fixed account whose claims are the ones the bridge serves
//     for `openid profile` (sub, name, nickname, picture);
//   - the login interaction is a small custom route, the way an application embeds the
//     library: GET /interaction/<uid> renders the login page, POST /interaction/<uid>
//     logs the account in, grants the requested scopes and finishes the interaction with
//     provider.interactionFinished (devInteractions is off).
//
//   - WeChat, as the bridge meets it: WECHAT_URL is the bench's WeChat fake (bench/wechat/worker.mjs,
//     the same worker the production-shaped bridge calls instead of api.weixin.qq.com) and
//     WECHAT_APPS the same apps (JSON [{appid, secret, kind}]). Both logins exchange a code the
//     client minted at the fake, with the same WeChat API calls the bridge makes, over HTTP/1.1
//     with a keep-alive agent (node:http):
//       - the browser login: POST /interaction/<uid> carries a mini program's wx.login code,
//         exchanged with sns/jscode2session (the bridge's handoff, src/wechat/miniprogram.ts);
//       - a native app's login, the counterpart of the bridge's token exchange (docs/protocol.md
//         §4): the token endpoint's RFC 8693 grant takes a SendAuth code as subject_token,
//         exchanges it with sns/oauth2/access_token and reads sns/userinfo (src/wechat/app.ts),
//         then issues an access token, a rotating refresh token and an ID token through the
//         library's own models (Grant, AccessToken, RefreshToken, IdToken) and storage.
//     The account is the WeChat user (unionid, else openid).
//
// It prints one JSON line `{"ready": true, ...}` on stdout when it is listening.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { errors } from 'oidc-provider';
import { Agent, createServer, request as httpRequest } from 'node:http';
import Provider from 'oidc-provider';
import { redisAdapter } from './redis-adapter.mjs';

const port = Number(process.env.PORT || 0);
const WECHAT_URL = process.env.WECHAT_URL;
const WECHAT_APPS = JSON.parse(process.env.WECHAT_APPS || '[]');
if (!WECHAT_URL || WECHAT_APPS.length === 0) throw new Error('WECHAT_URL and WECHAT_APPS must be set (the bench WeChat fake and its apps)');
const issuer = `http://localhost:${port}`;

const PEER_CLIENT = {
  client_id: 'bench-client',
  client_secret: 'bench-client-secret-0123456789abcdef',
  redirect_uris: ['https://rp.example/callback'],
  grant_types: ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:token-exchange'],
  response_types: ['code'],
  token_endpoint_auth_method: 'client_secret_basic',
};

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: 'jwk' }), kid: `peer-${randomBytes(4).toString('hex')}`, alg: 'RS256', use: 'sig' };

async function findAccount(_ctx, id) {
  return {
    accountId: id,
    async claims() {
      return { sub: id, name: `Bench ${id}`, nickname: `bench-${id}`, picture: 'https://example.com/avatar.png' };
    },
  };
}

const adapter = process.env.REDIS_URL ? redisAdapter(process.env.REDIS_URL) : undefined;

const provider = new Provider(issuer, {
  ...(adapter ? { adapter } : {}),
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
  findAccount,
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
  const app = wechatApp('miniprogram', form.get('appid'));
  const session = await wechat('sns/jscode2session', { appid: app.appid, secret: app.secret, js_code: form.get('code') ?? '', grant_type: 'authorization_code' });
  const accountId = String(session.unionid ?? session.openid);
  const { params } = details;
  const grant = new provider.Grant({ accountId, clientId: params.client_id });
  grant.addOIDCScope(String(params.scope));
  const grantId = await grant.save();
  await provider.interactionFinished(req, res, { login: { accountId }, consent: { grantId } }, { mergeWithLastSubmission: false });
}

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const SUBJECT_TOKEN_TYPE = 'urn:wechat:token-type:app_code';

class WeChatError extends Error {}

/** The configured WeChat app of `kind` (and `appid`, when named). */
function wechatApp(kind, appid) {
  const app = WECHAT_APPS.find((candidate) => candidate.kind === kind && (!appid || candidate.appid === appid));
  if (!app) throw new errors.InvalidRequest(`no ${kind} WeChat app ${appid ?? ''}`);
  return app;
}

const wechatUrl = new URL(WECHAT_URL);
const wechatAgent = new Agent({ keepAlive: true, maxSockets: 64 });

/** GET https://api.weixin.qq.com/<api>?<query>, sent to the fake; the JSON body, or WeChatError for a non-zero errcode. */
function wechat(api, query) {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: wechatUrl.hostname === 'localhost' ? '127.0.0.1' : wechatUrl.hostname, port: wechatUrl.port, path: `/${api}?${new URLSearchParams(query)}`, headers: { Host: 'api.weixin.qq.com' }, agent: wechatAgent, timeout: 5_000 },
      (res) => {
        const chunks = [];
        res.on('data', (chunk) => chunks.push(chunk));
        res.on('end', () => {
          try {
            const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
            if (res.statusCode !== 200 || (body.errcode !== undefined && body.errcode !== 0)) reject(new WeChatError(`${api}: ${res.statusCode} ${body.errcode} ${body.errmsg}`));
            else resolve(body);
          } catch (error) {
            reject(error);
          }
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new WeChatError(`${api}: timeout`)));
    req.on('error', reject);
    req.end();
  });
}

/** RFC 8693 §2.1: subject_token names the user; the response is the usual token set. */
provider.registerGrantType(
  TOKEN_EXCHANGE,
  async (ctx) => {
    const { params, client } = ctx.oidc;
    if (params.subject_token_type !== SUBJECT_TOKEN_TYPE) throw new errors.InvalidRequest('unsupported subject_token_type');
    const app = wechatApp('app', params.wechat_appid);
    let grantBody;
    try {
      grantBody = await wechat('sns/oauth2/access_token', { appid: app.appid, secret: app.secret, code: params.subject_token, grant_type: 'authorization_code' });
    } catch (error) {
      if (error instanceof WeChatError) throw new errors.InvalidGrant('subject_token is invalid, expired or used');
      throw error;
    }
    const profile = await wechat('sns/userinfo', { access_token: grantBody.access_token, openid: grantBody.openid, lang: 'zh_CN' });
    const accountId = String(grantBody.unionid ?? profile.unionid ?? grantBody.openid);
    const scope = String(params.scope || 'openid');
    const grant = new provider.Grant({ accountId, clientId: client.clientId });
    grant.addOIDCScope(scope);
    const grantId = await grant.save();
    const at = new provider.AccessToken({ accountId, client, grantId, gty: 'token_exchange', scope });
    const accessToken = await at.save();
    const rt = new provider.RefreshToken({ accountId, client, grantId, gty: 'token_exchange', scope, rotations: 0 });
    const refreshToken = await rt.save();
    const account = await findAccount(ctx, accountId);
    const idToken = new provider.IdToken(await account.claims('id_token', scope, {}, []), { ctx });
    idToken.scope = scope;
    const id_token = await idToken.issue({ use: 'idtoken' });
    ctx.body = { access_token: accessToken, token_type: 'Bearer', expires_in: at.expiration, refresh_token: refreshToken, id_token, scope };
  },
  ['subject_token', 'subject_token_type', 'scope', 'wechat_appid'],
);

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
  process.stdout.write(`${JSON.stringify({ ready: true, issuer, pid: process.pid, client: PEER_CLIENT, storage: adapter ? 'redis' : 'memory' })}\n`);
});

for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => server.close(() => process.exit(0)).closeAllConnections());
