/** Endpoint paths, relative to the issuer. */
export const PATHS = {
  authorization: '/authorize',
  token: '/token',
  userinfo: '/userinfo',
  jwks: '/jwks',
  registration: '/register',
  revocation: '/revoke',
  introspection: '/introspect',
  deviceAuthorization: '/device_authorization',
  endSession: '/logout',
  discovery: '/.well-known/openid-configuration',
  /** Not in discovery: logout's confirmation form, the pages of a pending login, the mini program's handoff, RFC 8628's verification_uri. */
  endSessionConfirmation: '/logout/confirm',
  login: '/login',
  handoff: '/wechat/handoff',
  /** Where WeChat's web authorizations come back (an Official Account's, a Website App's). */
  wechatCallback: '/wechat/callback',
  deviceVerification: '/device',
  /** The person's own account, from the mini program: what they approved (`/revoke` one), and `/delete`. */
  account: '/wechat/account',
  /** The admin API (docs/protocol.md "Operating"), behind ADMIN_TOKEN. */
  adminUsers: '/admin/users',
  adminAudit: '/admin/audit',
} as const;

/** The page of a pending login, and the path its cookie is scoped to. */
export const loginPath = (id: string) => `${PATHS.login}/${id}`;
