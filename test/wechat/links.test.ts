import { describe, expect, it } from 'vitest';
import { APP, MINI, client, faulty, oauthError, oauthErrorLogged, pathOf } from './helpers';

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

// wxa/getwxacodeunlimit
describe('miniProgramCode', () => {
  it('is a PNG image', async () => {
    const png = await client().miniProgramCode(MINI, { scene: 'login_abcdefghijklmnopqrstuvwxyz', page: 'pages/login/index' });
    expect([...png.subarray(0, 8)]).toEqual(PNG_SIGNATURE);
    expect(new TextDecoder().decode(png.subarray(12, 16))).toBe('IHDR');
    const view = new DataView(png.buffer, png.byteOffset);
    expect(view.getUint32(16)).toBe(view.getUint32(20)); // square
    expect(new TextDecoder().decode(png.subarray(-8, -4))).toBe('IEND');
  });

  it('sends the scene, page and a PNG-asking body', async () => {
    let sent: unknown;
    const { transport } = faulty(async (request) => {
      if (pathOf(request) === '/wxa/getwxacodeunlimit') sent = await request.clone().json();
      return undefined;
    });
    await client(transport).miniProgramCode(MINI, { scene: 'abc', page: 'pages/login/index' });
    expect(sent).toMatchObject({ scene: 'abc', page: 'pages/login/index', is_hyaline: true });
  });

  it('differs from scene to scene', async () => {
    const a = await client().miniProgramCode(MINI, { scene: 'a' });
    const b = await client().miniProgramCode(MINI, { scene: 'b' });
    expect(a).not.toEqual(b);
  });

  it('refuses a scene over 32 characters (40169) as a server_error', async () => {
    const { error, log } = await oauthErrorLogged(client().miniProgramCode(MINI, { scene: 'x'.repeat(33) }));
    expect([error.error, error.description]).toEqual(['server_error', 'the bridge could not complete its request to WeChat']);
    expect(log).toContain('WeChat wxa/getwxacodeunlimit: errcode 40169');
  });

  it('is retried once on HTTP 5xx', async () => {
    const { transport, seen } = faulty((request, attempt) =>
      pathOf(request) === '/wxa/getwxacodeunlimit' && attempt === 1 ? new Response('', { status: 503 }) : undefined,
    );
    const png = await client(transport).miniProgramCode(MINI, { scene: 'a' });
    expect([...png.subarray(0, 8)]).toEqual(PNG_SIGNATURE);
    expect(seen('/wxa/getwxacodeunlimit')).toBe(2);
  });

  it('needs a mini program', async () => {
    const error = await oauthError(client().miniProgramCode(APP, { scene: 'a' }));
    expect(error.error).toBe('server_error');
  });
});

// wxa/generatescheme
describe('urlScheme', () => {
  it('is a weixin://dl/business URL Scheme', async () => {
    const link = await client().urlScheme(MINI, { path: 'pages/login/index', query: 'login=abc', expireSeconds: 600 });
    expect(link).toMatch(/^weixin:\/\/dl\/business\/\?t=[A-Za-z0-9]+$/);
  });

  it('asks for the path, query and an expiry within what WeChat accepts', async () => {
    let sent: { jump_wxa?: unknown; expire_type?: number; expire_time?: number } = {};
    const { transport } = faulty(async (request) => {
      if (pathOf(request) === '/wxa/generatescheme') sent = await request.clone().json();
      return undefined;
    });
    const now = Date.now() / 1000;
    await client(transport).urlScheme(MINI, { path: 'pages/login/index', query: 'login=abc', expireSeconds: 600 });
    expect(sent.jump_wxa).toEqual({ path: 'pages/login/index', query: 'login=abc' });
    expect(sent.expire_type).toBe(0);
    expect(sent.expire_time).toBeGreaterThanOrEqual(Math.floor(now) + 599);
    expect(sent.expire_time).toBeLessThanOrEqual(Math.ceil(now) + 601);
    // Out-of-range lifetimes are brought within WeChat's 1 minute .. 30 days (else 85401).
    await expect(client().urlScheme(MINI, { query: 'a=1', expireSeconds: 10 })).resolves.toMatch(/^weixin:/);
    await expect(client().urlScheme(MINI, { query: 'a=1', expireSeconds: 365 * 86400 })).resolves.toMatch(/^weixin:/);
  });

  it('refuses a query over 1024 characters (40212) as a server_error', async () => {
    const error = await oauthError(client().urlScheme(MINI, { query: `a=${'x'.repeat(1024)}`, expireSeconds: 600 }));
    expect([error.error, error.status]).toEqual(['server_error', 500]);
  });

  it('reads a garbled answer as WeChat being unavailable', async () => {
    const { transport } = faulty((request) =>
      pathOf(request) === '/wxa/generatescheme' ? Response.json({ errcode: 0, errmsg: 'ok', openlink: 'https://evil.example' }) : undefined,
    );
    const error = await oauthError(client(transport).urlScheme(MINI, { query: 'a=1', expireSeconds: 600 }));
    expect(error.error).toBe('temporarily_unavailable');
  });
});
