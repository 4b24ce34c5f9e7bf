import { describe, expect, it } from 'vitest';
import { toOAuthError, WeChatFailure } from '../../src/wechat/errcodes';
import { MINI, callsFrom, client, expectNoWeChatDetails, faulty, mint, oauthError, oauthErrorLogged, pathOf } from './helpers';

// How WeChat's answers become OAuth errors (docs/wechat.md "Errcodes"); the pure table is errcodes.test.ts.
describe('errcode mapping of a code exchange', () => {
  it.each([
    [40029, 'invalid_grant', 400],
    [40163, 'invalid_grant', 400],
    [42003, 'invalid_grant', 400],
    [40226, 'invalid_grant', 400],
    [-1, 'temporarily_unavailable', 503],
    [45009, 'temporarily_unavailable', 503],
    [45011, 'temporarily_unavailable', 503],
    [40013, 'server_error', 500],
    [40125, 'server_error', 500],
    [40164, 'server_error', 500],
    [48001, 'server_error', 500],
    [41008, 'server_error', 500],
    [61023, 'server_error', 500],
  ])('errcode %i is %s (%i)', async (errcode, error, status) => {
    const { code } = await mint({ kind: 'miniprogram', error: errcode });
    const thrown = await oauthError(client().miniProgramLogin(MINI, code, {}));
    expect([thrown.error, thrown.status]).toEqual([error, status]);
  });

  it('asks to come back later when WeChat is busy', async () => {
    const { code } = await mint({ kind: 'miniprogram', error: 45011 });
    const thrown = await oauthError(client().miniProgramLogin(MINI, code, {}));
    expect(thrown.headers['Retry-After']).toBe('5');
  });

  it('spends a code even when its exchange fails', async () => {
    const { code } = await mint({ kind: 'miniprogram', error: -1 });
    await oauthError(client().miniProgramLogin(MINI, code, {}));
    const again = await oauthError(client().miniProgramLogin(MINI, code, {}));
    expect(again.description).toBe('the WeChat code was already used');
  });
});

describe('errcode mapping of other calls', () => {
  it('does not call a code errcode invalid_grant when no code was exchanged', () => {
    const failure = new WeChatFailure('wxa/generatescheme', { type: 'errcode', errcode: 40029, errmsg: 'invalid code' }, false);
    expect(toOAuthError(failure).error).toBe('server_error');
  });

  it.each([
    [{ type: 'unreachable', detail: 'timeout' } as const, 'temporarily_unavailable'],
    [{ type: 'malformed', detail: 'not JSON' } as const, 'temporarily_unavailable'],
    [{ type: 'http', status: 404 } as const, 'server_error'],
  ])('%o is %s', (failure, error) => {
    expect(toOAuthError(new WeChatFailure('sns/jscode2session', failure, true)).error).toBe(error);
  });
});

describe('configuration errors', () => {
  it('an unknown appid is a server_error', async () => {
    const { error, log } = await oauthErrorLogged(client().miniProgramLogin({ ...MINI, appid: 'wx00000000unknown' }, 'code', {}));
    expect([error.error, error.status]).toEqual(['server_error', 500]);
    expectNoWeChatDetails(error.description, 40013);
    expect(log).toContain('WeChat sns/jscode2session: errcode 40013');
    expect(log).not.toMatch(/js_code|secret=/);
  });

  it('a wrong secret is a server_error that does not echo the secret', async () => {
    const { code } = await mint({ kind: 'miniprogram' });
    const secret = 'not-the-real-secret';
    const { error, log } = await oauthErrorLogged(client().miniProgramLogin({ ...MINI, secret }, code, {}));
    expect([error.error, error.status]).toEqual(['server_error', 500]);
    expectNoWeChatDetails(error.description, 40125);
    expect(JSON.stringify(error.toJSON())).not.toContain(secret);
    expect(log).toContain('errcode 40125');
    expect(log).not.toContain(secret);
    expect(log).not.toContain(code);
  });
});

describe('transport failures', () => {
  const onSession = (answer: () => Promise<Response> | Response) =>
    faulty((request) => (pathOf(request) === '/sns/jscode2session' ? answer() : undefined));

  it.each([
    ['HTTP 502', 'temporarily_unavailable', () => new Response('bad gateway', { status: 502 })],
    ['HTTP 429', 'temporarily_unavailable', () => new Response('slow down', { status: 429 })],
    ['a network error', 'temporarily_unavailable', () => Promise.reject(new TypeError('Network connection lost'))],
    ['a non-JSON body', 'temporarily_unavailable', () => new Response('<html>maintenance</html>', { status: 200 })],
    ['JSON without openid', 'temporarily_unavailable', () => Response.json({ session_key: 'x' })],
    ['a JSON array', 'temporarily_unavailable', () => Response.json([])],
    ['HTTP 404', 'server_error', () => new Response('not found', { status: 404 })],
  ])('%s is %s, and the exchange is not retried', async (_, error, answer) => {
    const { transport, seen } = onSession(answer);
    const thrown = await oauthError(client(transport).miniProgramLogin(MINI, 'code', {}));
    expect(thrown.error).toBe(error);
    expect(seen('/sns/jscode2session')).toBe(1);
  });

  it('times out a call that never answers', async () => {
    const { transport } = onSession(() => new Promise<Response>(() => {}));
    const started = Date.now();
    const thrown = await oauthError(client(transport).miniProgramLogin(MINI, 'code', {}));
    expect(thrown.error).toBe('temporarily_unavailable');
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('times out a body that never ends', async () => {
    const { transport } = onSession(() => new Response(new ReadableStream({ start() {} })));
    const thrown = await oauthError(client(transport).miniProgramLogin(MINI, 'code', {}));
    expect(thrown.error).toBe('temporarily_unavailable');
  });

  it('calls the documented URL and query of sns/jscode2session', async () => {
    const sessions = await callsFrom('/sns/jscode2session');
    let url = '';
    const { transport } = faulty((request) => {
      url = request.url;
      return undefined;
    });
    await oauthError(client(transport).miniProgramLogin(MINI, 'unknown-code', {}));
    const sent = new URL(url);
    expect(sent.origin + sent.pathname).toBe('https://api.weixin.qq.com/sns/jscode2session');
    expect(Object.fromEntries(sent.searchParams)).toEqual({
      appid: MINI.appid,
      secret: MINI.secret,
      js_code: 'unknown-code',
      grant_type: 'authorization_code',
    });
    expect(await sessions()).toBe(1);
  });
});
