import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { approve, deny } from '../support/browser';
import { sha256 } from '../../src/crypto';
import { call, claimsOf, ISSUER, postForm, register, type RegisteredClient } from '../support/oidc';

const DEVICE_CODE = 'urn:ietf:params:oauth:grant-type:device_code';

const deviceClient = () =>
  register({ token_endpoint_auth_method: 'none', application_type: 'native', grant_types: [DEVICE_CODE, 'refresh_token'], client_name: 'TV' });

async function authorizeDevice(client: RegisteredClient, scope = 'openid profile offline_access') {
  const response = await postForm('/device_authorization', client, { scope });
  expect(response.status).toBe(200);
  return response.json<Record<string, string | number>>();
}

const poll = (client: RegisteredClient, deviceCode: string) => postForm('/token', client, { grant_type: DEVICE_CODE, device_code: deviceCode });

/** Pretends the client waited its interval before polling again. */
const waitInterval = (deviceCode: string) =>
  env.DB.prepare('UPDATE device_codes SET last_polled_at = last_polled_at - interval').run().then(() => deviceCode);

describe('device authorization grant (RFC 8628)', () => {
  it('issues a device code and a user code that is a login id', async () => {
    const client = await deviceClient();
    const device = await authorizeDevice(client);
    expect(device).toMatchObject({
      device_code: expect.any(String),
      user_code: expect.stringMatching(/^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/),
      verification_uri: `${ISSUER}/device`,
      expires_in: 600,
      interval: 5,
    });
    expect(device.verification_uri_complete).toBe(`${ISSUER}/device?user_code=${device.user_code}`);
    const page = await call(`/device?user_code=${String(device.user_code).toLowerCase().replace('-', '')}`, { redirect: 'manual' });
    expect(page.status).toBe(303);
    expect(page.headers.get('Location')).toBe(`/login/${device.user_code}`);
  });

  it('answers authorization_pending, then slow_down when polled too fast, then tokens after approval', async () => {
    const client = await deviceClient();
    const device = await authorizeDevice(client);
    const code = String(device.device_code);
    expect(await (await poll(client, code)).json()).toMatchObject({ error: 'authorization_pending' });
    const tooFast = await poll(client, code);
    expect(tooFast.status).toBe(400);
    expect(await tooFast.json()).toMatchObject({ error: 'slow_down' });
    const row = await env.DB.prepare('SELECT interval FROM device_codes WHERE user_code = ?').bind(device.user_code).first<{ interval: number }>();
    expect(row!.interval).toBe(10);

    expect((await approve(String(device.user_code))).status).toBe(200);
    const response = await poll(client, await waitInterval(code));
    expect(response.status).toBe(200);
    const tokens = await response.json<Record<string, string>>();
    expect(tokens).toMatchObject({ access_token: expect.any(String), refresh_token: expect.any(String), scope: 'openid profile offline_access' });
    expect(claimsOf(tokens.id_token!).aud).toBe(client.client_id);
    // A device code is used once.
    expect(await (await poll(client, await waitInterval(code))).json()).toMatchObject({ error: 'invalid_grant' });
  });

  it('answers access_denied when the user declines', async () => {
    const client = await deviceClient();
    const device = await authorizeDevice(client);
    expect((await deny(String(device.user_code))).status).toBe(200);
    expect(await (await poll(client, String(device.device_code))).json()).toMatchObject({ error: 'access_denied' });
  });

  it('answers expired_token after the code expires', async () => {
    const client = await deviceClient();
    const device = await authorizeDevice(client);
    await env.DB.prepare('UPDATE device_codes SET expires_at = unixepoch() - 1 WHERE user_code = ?').bind(device.user_code).run();
    expect(await (await poll(client, String(device.device_code))).json()).toMatchObject({ error: 'expired_token' });
  });

  describe('a poll after the tokens were issued is invalid_grant and revokes them (docs/protocol.md §5.6)', () => {
    /** A device approved and issued its tokens: the client, its device code and the tokens. */
    async function issued() {
      const client = await deviceClient();
      const device = await authorizeDevice(client);
      const code = String(device.device_code);
      expect((await approve(String(device.user_code))).status).toBe(200);
      const response = await poll(client, code);
      expect(response.status).toBe(200);
      return { client, code, userCode: String(device.user_code), tokens: await response.json<Record<string, string>>() };
    }

    const expectRevoked = async (client: RegisteredClient, tokens: Record<string, string>) => {
      expect((await call('/userinfo', { headers: { Authorization: `Bearer ${tokens.access_token}` } })).status).toBe(401);
      const refreshed = await postForm('/token', client, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token! });
      expect(refreshed.status).toBe(400);
      expect(await refreshed.json()).toMatchObject({ error: 'invalid_grant' });
    };

    it('after the device code expired', async () => {
      const { client, code, userCode, tokens } = await issued();
      await env.DB.prepare('UPDATE device_codes SET expires_at = unixepoch() - 1 WHERE user_code = ?').bind(userCode).run();
      await waitInterval(code);
      // Another client's poll is refused as an unknown code, and revokes nothing.
      expect(await (await poll(await deviceClient(), code)).json()).toMatchObject({ error: 'invalid_grant' });
      expect((await call('/userinfo', { headers: { Authorization: `Bearer ${tokens.access_token}` } })).status).toBe(200);

      const replay = await poll(client, code);
      expect(replay.status).toBe(400);
      expect(await replay.json()).toMatchObject({ error: 'invalid_grant', error_description: expect.stringMatching(/already used/) });
      await expectRevoked(client, tokens);
    });

    it('sooner than the interval', async () => {
      const { client, code, tokens } = await issued();
      const replay = await poll(client, code);
      expect(replay.status).toBe(400);
      expect(await replay.json()).toMatchObject({ error: 'invalid_grant' });
      await expectRevoked(client, tokens);
    });
  });

  it('issues nothing for an approved device code that expired before its poll, however often polled', async () => {
    const client = await deviceClient();
    const device = await authorizeDevice(client);
    const code = String(device.device_code);
    expect((await approve(String(device.user_code))).status).toBe(200);
    await env.DB.prepare('UPDATE device_codes SET expires_at = unixepoch() - 1 WHERE user_code = ?').bind(device.user_code).run();
    const grants = () => env.DB.prepare('SELECT count(*) AS n FROM grants WHERE client_id = ?').bind(client.client_id).first<{ n: number }>();
    for (let i = 0; i < 2; i++) expect(await (await poll(client, await waitInterval(code))).json()).toMatchObject({ error: 'expired_token' });
    expect((await grants())!.n).toBe(0);
    const marker = await env.DB.prepare('SELECT count(*) AS n FROM single_uses WHERE key = ?').bind(`device:${await sha256(code)}`).first<{ n: number }>();
    expect(marker!.n).toBe(0);
  });

  it("refuses unknown device codes, other clients' codes, and clients without the grant", async () => {
    const client = await deviceClient();
    const other = await deviceClient();
    const device = await authorizeDevice(client);
    expect(await (await poll(client, 'unknown')).json()).toMatchObject({ error: 'invalid_grant' });
    expect(await (await poll(other, String(device.device_code))).json()).toMatchObject({ error: 'invalid_grant' });
    const plain = await register();
    expect(await (await postForm('/device_authorization', plain, { scope: 'openid' })).json()).toMatchObject({ error: 'unauthorized_client' });
    expect((await postForm('/device_authorization', undefined, { scope: 'openid' })).status).toBe(401);
  });

  it('offers a form at the verification_uri and refuses an unknown user code', async () => {
    const form = await call('/device');
    expect(form.status).toBe(200);
    expect(await form.text()).toContain('user_code');
    expect((await call('/device?user_code=BBBB-BBBB')).status).toBe(404);
  });
});
