// The operations the benchmark and the soak drive, for each side, through bench/lib/http.mjs.
//
// A complete login is a new browser (an empty cookie jar) going through the whole
// authorization code flow with PKCE, ending with the code redeemed at the token endpoint:
//
//   bridge: GET /authorize (the login page itself) → POST /sandbox/wechat/codes
//           (the sandbox plays wx.login in the mini program) → POST /wechat/handoff (the mini
//           program approves; the bridge calls sns/jscode2session) → GET /login/<id>/continue
//           (302 to redirect_uri?code) → POST /token
//   peer:   GET /auth (303) → GET /interaction/<uid> (the login page) → POST /sandbox/wechat/codes
//           (the same wx.login) → POST /interaction/<uid> (the code; the peer calls
//           sns/jscode2session; interactionFinished, 303) → GET /auth/<uid> (303 to
//           redirect_uri?code) → POST /token
//
// The code mint goes to the side's WeChat: the bench's WeChat fake (bench/wechat/worker.mjs) when
// the server names one (`server.wechat`: the production-shaped bridge, both peers), else the
// bridge's own sandbox routes (wrangler dev serves the development entry, src/dev.ts).
import { basicAuth, Http, Jar, pkce } from './http.mjs';

export const REDIRECT_URI = 'https://rp.example/callback';
export const SCOPE = 'openid profile offline_access';

class FlowError extends Error {
  constructor(step, response) {
    super(`${step}: HTTP ${response.status} ${String(response.body).slice(0, 300)}`);
    this.status = response.status;
  }
}

function expectStatus(step, response, ...statuses) {
  if (!statuses.includes(response.status)) throw new FlowError(step, response);
  return response;
}

async function discover(server) {
  const http = new Http(server.issuer, 1, 15_000, { headers: server.headers ?? {} });
  try {
    const response = expectStatus('discovery', await http.get('/.well-known/openid-configuration'), 200);
    return response.json();
  } finally {
    http.close();
  }
}

const pathOf = (url) => {
  const parsed = new URL(url);
  return `${parsed.pathname}${parsed.search}`;
};

/** What every side offers the load generator. */
class Side {
  constructor(name, server, metadata, client) {
    this.name = name;
    this.issuer = server.issuer;
    /** Headers every request carries (the production-shaped bridge: CF-Connecting-IP, as Cloudflare's edge sets it). */
    this.headers = server.headers ?? {};
    /** The WeChat fake's client, when the side has one. */
    this.wechat = server.wechat ? new Http(server.wechat, 64) : undefined;
    this.metadata = metadata;
    this.client = client;
    this.paths = {
      discovery: '/.well-known/openid-configuration',
      jwks: pathOf(metadata.jwks_uri),
      authorize: pathOf(metadata.authorization_endpoint),
      token: pathOf(metadata.token_endpoint),
      userinfo: pathOf(metadata.userinfo_endpoint),
    };
    this.auth = basicAuth(client.client_id, client.client_secret);
  }

  http(concurrency) {
    return new Http(this.issuer, concurrency, 15_000, { headers: this.headers });
  }

  /** A WeChat code, as the WeChat app (mini program, mobile app) receives it: {code, appid}. */
  async mint(http, kind, identity) {
    const response = this.wechat
      ? await this.wechat.postJson('/sandbox/wechat/codes', { kind, ...identity })
      : await http.postJson('/sandbox/wechat/codes', { kind, ...identity });
    return expectStatus('sandbox mint', response, 200).json();
  }

  close() {
    this.wechat?.close();
  }

  async discovery(http) {
    const response = expectStatus('discovery', await http.get(this.paths.discovery), 200);
    response.json();
  }

  async jwks(http) {
    const response = expectStatus('jwks', await http.get(this.paths.jwks), 200);
    response.json();
  }

  async userinfo(http, tokens) {
    const response = expectStatus('userinfo', await http.get(this.paths.userinfo, { headers: { Authorization: `Bearer ${tokens.access_token}` } }), 200);
    return response.json();
  }

  /** The refresh-token grant; returns the new token set (the old refresh token is spent). */
  async refresh(http, tokens) {
    const response = expectStatus(
      'refresh',
      await http.postForm(this.paths.token, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token }, { headers: { Authorization: this.auth } }),
      200,
    );
    const next = response.json();
    if (!next.refresh_token || !next.access_token) throw new Error('refresh: no rotated refresh token or access token');
    return next;
  }

  authorizeQuery(extra) {
    const { verifier, challenge } = pkce();
    const nonce = `n-${Math.random().toString(36).slice(2)}`;
    const state = `s-${Math.random().toString(36).slice(2)}`;
    const query = new URLSearchParams({
      client_id: this.client.client_id,
      redirect_uri: REDIRECT_URI,
      response_type: 'code',
      scope: SCOPE,
      // oidc-provider grants offline_access only with prompt=consent (OpenID Connect Core §11);
      // both sides get the same request.
      prompt: 'consent',
      state,
      nonce,
      code_challenge: challenge,
      code_challenge_method: 'S256',
      ...extra,
    });
    return { query, verifier, nonce, state };
  }

  async redeem(http, callbackUrl, verifier, state, nonce) {
    const params = new URL(callbackUrl).searchParams;
    if (params.get('state') !== state) throw new Error(`login: state mismatch in ${callbackUrl}`);
    const code = params.get('code');
    if (!code) throw new Error(`login: no code in ${callbackUrl}`);
    const response = expectStatus(
      'token (authorization_code)',
      await http.postForm(
        this.paths.token,
        { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier },
        { headers: { Authorization: this.auth } },
      ),
      200,
    );
    const tokens = response.json();
    if (!tokens.id_token || !tokens.refresh_token) throw new Error('login: the token response lacks id_token or refresh_token');
    // Not part of the response: the nonce this login sent, for callers that check the ID token.
    Object.defineProperty(tokens, 'requestNonce', { value: nonce, enumerable: false });
    return tokens;
  }
}

export const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';

export class BridgeSide extends Side {
  static async create(server, { grantTypes = ['authorization_code', 'refresh_token'] } = {}) {
    const metadata = await discover(server);
    const http = new Http(server.issuer, 1, 15_000, { headers: server.headers ?? {} });
    try {
      const response = await http.postJson(
        pathOf(metadata.registration_endpoint),
        {
          redirect_uris: [REDIRECT_URI],
          grant_types: grantTypes,
          response_types: ['code'],
          token_endpoint_auth_method: 'client_secret_basic',
          client_name: 'Benchmark RP',
        },
        { headers: { Authorization: `Bearer ${server.registrationToken}` } },
      );
      expectStatus('registration', response, 201);
      return new BridgeSide('bridge', server, metadata, response.json());
    } finally {
      http.close();
    }
  }

  /**
   * The complete browser login (test/support/browser.ts, over real HTTP).
   * @param {{openid?: string, unionid?: string}} identity the WeChat user the sandbox plays
   * @param {{cookiePaths?: boolean}} [options] honour cookie paths as a real browser does
   */
  async login(http, identity = {}, options = {}) {
    const jar = new Jar({ paths: options.cookiePaths ?? true });
    const { query, verifier, state, nonce } = this.authorizeQuery();
    // The authorization request is answered with the login page itself.
    const started = expectStatus('authorize', await http.get(`${this.paths.authorize}?${query}`, { jar }), 200);
    const loginId = /data-login-session="([A-Za-z0-9_-]+)"/.exec(started.body)?.[1];
    if (!loginId) throw new Error('authorize: no login page');
    const loginPath = `/login/${loginId}`;
    const minted = await this.mint(http, 'miniprogram', identity);
    expectStatus('handoff', await http.postJson('/wechat/handoff', { login: loginId, code: minted.code, appid: minted.appid }), 200);
    const back = expectStatus('continue', await http.get(`${loginPath}/continue`, { jar }), 302);
    return this.redeem(http, back.headers.location, verifier, state, nonce);
  }

  /** A native app's login (docs/protocol.md §4): a sandbox SendAuth code traded at the token endpoint. */
  async appLogin(http, identity = {}) {
    const minted = await this.mint(http, 'app', identity);
    const response = expectStatus(
      'token exchange',
      await http.postForm(
        this.paths.token,
        {
          grant_type: TOKEN_EXCHANGE,
          subject_token: minted.code,
          subject_token_type: 'urn:wechat:token-type:app_code',
          scope: SCOPE,
          wechat_appid: minted.appid,
        },
        { headers: { Authorization: this.auth } },
      ),
      200,
    );
    const tokens = response.json();
    if (!tokens.id_token || !tokens.refresh_token) throw new Error('token exchange: the response lacks id_token or refresh_token');
    return tokens;
  }
}

export class PeerSide extends Side {
  static async create(server) {
    if (!server.wechat) throw new Error('the peer needs the WeChat fake');
    const metadata = await discover(server);
    return new PeerSide('peer', server, metadata, server.client);
  }

  /** The complete browser login through the peer's interaction (bench/peer/server.mjs). */
  async login(http, identity = {}) {
    const jar = new Jar({ paths: true });
    const { query, verifier, state, nonce } = this.authorizeQuery();
    const started = expectStatus('authorize', await http.get(`${this.paths.authorize}?${query}`, { jar }), 303);
    const interaction = started.headers.location;
    if (!/^\/interaction\/[A-Za-z0-9_-]+$/.test(interaction ?? '')) throw new Error(`authorize: unexpected Location ${interaction}`);
    expectStatus('login page', await http.get(interaction, { jar }), 200);
    const minted = await this.mint(http, 'miniprogram', identity);
    const finished = expectStatus('interaction', await http.postForm(interaction, { code: minted.code, appid: minted.appid }, { jar }), 303);
    const resumed = expectStatus('resume', await http.get(finished.headers.location, { jar }), 303);
    return this.redeem(http, resumed.headers.location, verifier, state, nonce);
  }

  /** The counterpart of the bridge's app login: the same SendAuth code traded at the token endpoint (RFC 8693). */
  async appLogin(http, identity = {}) {
    const minted = await this.mint(http, 'app', identity);
    const response = expectStatus(
      'token exchange',
      await http.postForm(
        this.paths.token,
        { grant_type: TOKEN_EXCHANGE, subject_token: minted.code, subject_token_type: 'urn:wechat:token-type:app_code', scope: SCOPE, wechat_appid: minted.appid },
        { headers: { Authorization: this.auth } },
      ),
      200,
    );
    const tokens = response.json();
    if (!tokens.id_token || !tokens.refresh_token) throw new Error('token exchange: the response lacks id_token or refresh_token');
    return tokens;
  }
}
