/**
 * RFC 8693 token exchange with a WeChat code as the subject token
 * (docs/protocol.md §4): a mobile app's SendAuth code or a mini program's
 * wx.login code becomes OIDC tokens. WeChat is called before anything is
 * written, so a refused or failed exchange leaves D1 as it was; then the
 * binding, the grant and the audit entries are one batch (src/store/identities.ts).
 */
import type { WeChatKind } from '../../config';
import type { Bridge } from '../../context';
import { invalidGrant, invalidRequest } from '../../errors';
import { announceLogin, loginAudit } from '../../login/life-cycle';
import { chooseWeChatApp, isWeChatCode } from '../../login/wechat-apps';
import { isForeignKeyViolation } from '../../store/db';
import { bindLogin, boundUserId } from '../../store/identities';
import { amrOf } from '../../tokens/acr';
import { newGrant, signTokens } from '../../tokens/issue';
import type { Client } from '../../types';
import { invalidClient } from '../client-auth';
import { requestedScopes } from '../scopes';

export const SUBJECT_TOKEN_TYPES: Record<string, Extract<WeChatKind, 'app' | 'miniprogram'>> = {
  'urn:wechat:token-type:app_code': 'app',
  'urn:wechat:token-type:miniprogram_code': 'miniprogram',
};

const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

export async function tokenExchangeGrant(bridge: Bridge, client: Client, params: Map<string, string>) {
  // RFC 8693 §2.1
  const subjectToken = params.get('subject_token');
  const subjectTokenType = params.get('subject_token_type');
  if (!subjectToken || !subjectTokenType) throw invalidRequest('subject_token and subject_token_type are required');
  const kind = Object.hasOwn(SUBJECT_TOKEN_TYPES, subjectTokenType) ? SUBJECT_TOKEN_TYPES[subjectTokenType] : undefined;
  if (!kind) throw invalidRequest('subject_token_type is not supported');
  if (params.has('actor_token') || params.has('actor_token_type')) throw invalidRequest('delegation (actor_token) is not supported');
  const requested = params.get('requested_token_type');
  if (requested !== undefined && requested !== ACCESS_TOKEN_TYPE) throw invalidRequest(`only ${ACCESS_TOKEN_TYPE} can be issued`);
  const scopes = requestedScopes(client, params.get('scope'));
  const phoneCode = params.get('wechat_phone_code');
  if (phoneCode !== undefined && kind !== 'miniprogram') throw invalidRequest('wechat_phone_code goes with a mini program code');

  const app = chooseWeChatApp(bridge.config, client, kind, params.get('wechat_appid'));
  if (!isWeChatCode(subjectToken)) throw invalidGrant('the WeChat code is invalid');
  if (phoneCode !== undefined && !isWeChatCode(phoneCode)) throw invalidGrant('the WeChat phone code is invalid');

  const wechat = bridge.wechat();
  const login =
    kind === 'app'
      ? await wechat.appLogin(app, subjectToken, { profile: scopes.includes('profile') })
      : await wechat.miniProgramLogin(app, subjectToken, { phoneCode });
  // The user's binding (if this login makes one), the grant and the audit entries: one batch, one round trip.
  const userId = boundUserId(login);
  const granted = { scopes, authTime: bridge.now, amr: amrOf(kind) };
  const grant = await newGrant(bridge, client, { ...granted, wechat: login }, userId);
  const door = { clientId: client.clientId, appid: login.appid, door: kind };
  const { subject, binding } = await bindLogin(bridge.db, login, bridge.now, client.clientId, [...grant.statements, loginAudit(bridge, { ...door, userId })]).catch(
    (error: unknown) => {
      // Removed a moment ago (RFC 7592 §2.3), by a request this isolate's client cache has not seen: nothing to issue to.
      if (isForeignKeyViolation(error)) throw invalidClient('the client no longer exists', bridge.config.issuer);
      throw error;
    },
  );
  const tokens = await signTokens(bridge, client, grant.id, { ...granted, subject });
  const facts = { ...door, userId: subject.id };
  announceLogin(bridge, facts, binding);
  return { ...tokens, ...(grant.refreshToken && { refresh_token: grant.refreshToken }), issued_token_type: ACCESS_TOKEN_TYPE };
}
