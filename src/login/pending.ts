/**
 * Pending logins (docs/protocol.md §5): what the authorization endpoint and
 * the device authorization endpoint hand to the login flow, and how the
 * login's pages find theirs. A browser login is only ever shown to the
 * browser that started it.
 */
import type { AppContext, Bridge } from '../context';
import { randomId, sha256, timingSafeEqualStrings } from '../crypto';
import { getPendingLogin, putPendingLogin, type PendingLogin } from '../store/pending-logins';
import type { Scope } from '../types';
import { browserCookieValue, setBrowserCookie } from './session';
import { describeWaitingDevice } from './waiting-device';

/** A login id: at most 32 of [A-Za-z0-9_-], so it fits a mini program code's `scene`. */
export const LOGIN_ID = /^[A-Za-z0-9_-]{1,32}$/;

export type BrowserLoginRequest = Omit<NonNullable<PendingLogin['authorization']>, 'browserHash'> & { clientId: string; scopes: Scope[] };

/** Starts a browser login and binds it to this browser by a cookie; returns its id. */
export async function startBrowserLogin(c: AppContext, bridge: Bridge, request: BrowserLoginRequest): Promise<PendingLogin> {
  const { clientId, scopes, ...authorization } = request;
  const ttl = bridge.config.ttl.pendingLogin;
  const browserSecret = randomId(32);
  const login: PendingLogin = {
    id: randomId(24),
    clientId,
    scopes,
    expiresAt: bridge.now + ttl,
    device: waitingDevice(c),
    authorization: { ...authorization, browserHash: await sha256(browserSecret) },
  };
  await putPendingLogin(bridge.env.KV, login, bridge.now);
  setBrowserCookie(c, bridge, login.id, browserSecret, ttl);
  return login;
}

/** Starts a device login (RFC 8628) whose id is the user code the device shows. */
export async function startDeviceLogin(c: AppContext, bridge: Bridge, userCode: string, clientId: string, scopes: Scope[]): Promise<void> {
  const login: PendingLogin = { id: userCode, clientId, scopes, expiresAt: bridge.now + bridge.config.ttl.deviceCode, device: waitingDevice(c) };
  await putPendingLogin(bridge.env.KV, login, bridge.now);
}

const waitingDevice = (c: AppContext) => describeWaitingDevice(c.req.header('User-Agent'), c.req.raw.cf as Parameters<typeof describeWaitingDevice>[1]);

/** The pending login named in the path, if it exists and this browser may see it. */
export async function pendingFor(c: AppContext, bridge: Bridge): Promise<PendingLogin | undefined> {
  const id = c.req.param('id') ?? '';
  if (!LOGIN_ID.test(id)) return undefined;
  const login = await getPendingLogin(bridge.env.KV, id, bridge.now);
  if (!login?.authorization) return login;
  const secret = browserCookieValue(c, bridge, id);
  return secret && (await timingSafeEqualStrings(await sha256(secret), login.authorization.browserHash)) ? login : undefined;
}
