/**
 * The D1 schema. `npm run db:generate` turns changes here into a migration;
 * docs/storage.md lists every table and KV key and why it exists.
 */

import { sql } from 'drizzle-orm';
import { index, integer, primaryKey, sqliteTable, text } from 'drizzle-orm/sqlite-core';

/** One person. `id` is the OIDC `sub`: random, never derived from WeChat ids. */
export const users = sqliteTable('users', {
  id: text('id').primaryKey(),
  /**
   * E.164, from WeChat's getuserphonenumber, or imported with a user who existed before
   * the bridge (the admin API), which only a login verifying that number links to.
   */
  phoneNumber: text('phone_number').unique(),
  nickname: text('nickname'),
  picture: text('picture'),
  createdAt: integer('created_at').notNull(),
  updatedAt: integer('updated_at').notNull(),
});

/** An openid is per WeChat app: (appid, openid) names one person in one app. */
export const wechatIdentities = sqliteTable(
  'wechat_identities',
  {
    appid: text('appid').notNull(),
    openid: text('openid').notNull(),
    unionid: text('unionid'),
    userId: text('user_id')
      .notNull()
      .references(() => users.id),
    createdAt: integer('created_at').notNull(),
  },
  (table) => [
    primaryKey({ columns: [table.appid, table.openid] }),
    index('wechat_identities_user').on(table.userId),
    // The admin API finds a person by an openid alone, whichever app it is of.
    index('wechat_identities_openid').on(table.openid),
  ],
);

/** A unionid is one person across the apps of one Open Platform account: one row, one user. */
export const wechatUnionids = sqliteTable(
  'wechat_unionids',
  {
    unionid: text('unionid').primaryKey(),
    userId: text('user_id')
      .notNull()
      .references(() => users.id),
  },
  // A user's unionids: the phone binding's "claimed" check, and a user's deletion.
  (table) => [index('wechat_unionids_user').on(table.userId)],
);

/** Registered clients (RFC 7591). The secret is kept only as a SHA-256 hash. */
export const clients = sqliteTable('clients', {
  clientId: text('client_id').primaryKey(),
  secretHash: text('client_secret_hash'),
  /** The registered metadata, as returned by the registration endpoint (without the secret). */
  metadata: text('metadata', { mode: 'json' }).notNull(),
  issuedAt: integer('client_id_issued_at').notNull(),
  /** RFC 7592 §3: SHA-256 of the registration access token; null for clients registered before client management. */
  registrationTokenHash: text('registration_token_hash'),
});

/**
 * A grant: one login of one user to one client, and every token issued from
 * it. Revoking the grant revokes its refresh tokens and its access tokens.
 */
export const grants = sqliteTable(
  'grants',
  {
    id: text('id').primaryKey(),
    clientId: text('client_id')
      .notNull()
      .references(() => clients.clientId),
    userId: text('user_id')
      .notNull()
      .references(() => users.id),
    scope: text('scope').notNull(),
    authTime: integer('auth_time').notNull(),
    amr: text('amr').notNull(),
    wechatAppid: text('wechat_appid').notNull(),
    wechatOpenid: text('wechat_openid').notNull(),
    /**
     * The browser session the login came through (OpenID Connect Back-Channel
     * Logout 1.0 §2.1 `sid`); null for logins without one (token exchange, device flow).
     */
    sid: text('sid'),
    createdAt: integer('created_at').notNull(),
    expiresAt: integer('expires_at').notNull(),
    revokedAt: integer('revoked_at'),
  },
  (table) => [
    index('grants_user').on(table.userId),
    // A client's removal (RFC 7592 §2.3) revokes its grants.
    index('grants_client').on(table.clientId),
    // The purge (src/store/purge.ts) finds grants past their expiry or revocation by these.
    index('grants_expires').on(table.expiresAt),
    index('grants_revoked').on(table.revokedAt).where(sql`${table.revokedAt} IS NOT NULL`),
  ],
);

/** Refresh tokens, by SHA-256 hash. A used one is kept to detect its reuse. */
export const refreshTokens = sqliteTable(
  'refresh_tokens',
  {
    tokenHash: text('token_hash').primaryKey(),
    grantId: text('grant_id')
      .notNull()
      .references(() => grants.id),
    createdAt: integer('created_at').notNull(),
    expiresAt: integer('expires_at').notNull(),
    usedAt: integer('used_at'),
    replacedBy: text('replaced_by'),
  },
  (table) => [index('refresh_tokens_grant').on(table.grantId), index('refresh_tokens_expires').on(table.expiresAt)],
);

/** Access tokens revoked one by one (RFC 7009), until they would have expired anyway. */
export const revokedAccessTokens = sqliteTable(
  'revoked_access_tokens',
  {
    jti: text('jti').primaryKey(),
    expiresAt: integer('expires_at').notNull(),
  },
  (table) => [index('revoked_access_tokens_expires').on(table.expiresAt)],
);


/**
 * Authorization codes (RFC 6749 §4.1.2), by SHA-256 of the code, with what
 * the grant they become needs. In D1, not KV, so that redeeming one is a
 * single batch: the single-use claim, the grant and its refresh token are
 * `INSERT … SELECT`s from this row, guarded by the checks of §4.1.3 and
 * RFC 7636 §4.6 as SQL conditions (src/store/authorization-codes.ts).
 */
export const authorizationCodes = sqliteTable(
  'authorization_codes',
  {
    codeHash: text('code_hash').primaryKey(),
    clientId: text('client_id').notNull(),
    redirectUri: text('redirect_uri').notNull(),
    /** RFC 7636 S256 challenge; null for a confidential client that sent none. */
    codeChallenge: text('code_challenge'),
    nonce: text('nonce'),
    userId: text('user_id').notNull(),
    scope: text('scope').notNull(),
    authTime: integer('auth_time').notNull(),
    amr: text('amr').notNull(),
    wechatAppid: text('wechat_appid').notNull(),
    wechatOpenid: text('wechat_openid').notNull(),
    sid: text('sid'),
    expiresAt: integer('expires_at').notNull(),
  },
  // A person's deletion and a client's removal delete their codes; the purge, the expired ones.
  (table) => [
    index('authorization_codes_user').on(table.userId),
    index('authorization_codes_client').on(table.clientId),
    index('authorization_codes_expires').on(table.expiresAt),
  ],
);

/**
 * Things that may be used once: authorization codes, device codes, and the
 * completion of a pending login. KV cannot promise "once" (it is eventually
 * consistent), so the first use inserts a row here and a second use fails
 * on the primary key. `grant_id` is what a replay revokes (RFC 6749 §4.1.2).
 */
export const singleUses = sqliteTable(
  'single_uses',
  {
    key: text('key').primaryKey(),
    grantId: text('grant_id'),
    usedAt: integer('used_at').notNull(),
  },
  (table) => [index('single_uses_used').on(table.usedAt)],
);

/** The mini program's answer to a pending login (docs/protocol.md §5): at most one per login id. */
export const loginApprovals = sqliteTable(
  'login_approvals',
  {
    loginId: text('login_id').primaryKey(),
    approved: integer('approved', { mode: 'boolean' }).notNull(),
    userId: text('user_id').references(() => users.id),
    wechatAppid: text('wechat_appid'),
    wechatOpenid: text('wechat_openid'),
    /** When the login was answered: while its pending login waited, so at most that login's lifetime after it started. */
    authTime: integer('auth_time').notNull(),
  },
  (table) => [
    index('login_approvals_auth_time').on(table.authTime),
    // A person's deletion finds their answers by the openids they answered with, and
    // deleting the user row checks the foreign key of user_id.
    index('login_approvals_openid').on(table.wechatOpenid).where(sql`${table.wechatOpenid} IS NOT NULL`),
    index('login_approvals_user').on(table.userId),
  ],
);

/** RFC 8628 device authorizations, by SHA-256 of the device_code; polling state lives here. */
export const deviceCodes = sqliteTable(
  'device_codes',
  {
    codeHash: text('code_hash').primaryKey(),
    userCode: text('user_code').notNull().unique(),
    clientId: text('client_id')
      .notNull()
      .references(() => clients.clientId),
    scope: text('scope').notNull(),
    interval: integer('interval').notNull(),
    lastPolledAt: integer('last_polled_at'),
    expiresAt: integer('expires_at').notNull(),
  },
  // A client's removal (RFC 7592 §2.3) deletes its device codes, and the client row's foreign key checks them.
  (table) => [index('device_codes_expires').on(table.expiresAt), index('device_codes_client').on(table.clientId)],
);

/** client_id → the scopes the person approved for it, space-separated. */
export type Consents = Record<string, string>;

/** Browser login sessions, by SHA-256 of the cookie value. Logging out deletes the row. */
export const sessions = sqliteTable(
  'sessions',
  {
    idHash: text('id_hash').primaryKey(),
    userId: text('user_id')
      .notNull()
      .references(() => users.id),
    wechatAppid: text('wechat_appid').notNull(),
    wechatOpenid: text('wechat_openid').notNull(),
    authTime: integer('auth_time').notNull(),
    amr: text('amr').notNull(),
    /** What the person approved in this session: client_id → the scopes, space-separated. */
    consents: text('consents', { mode: 'json' }).$type<Consents>().notNull().default({}),
    expiresAt: integer('expires_at').notNull(),
  },
  (table) => [index('sessions_user').on(table.userId), index('sessions_expires').on(table.expiresAt)],
);

/**
 * What happened, for operators (docs/protocol.md "Operating"): logins,
 * bindings, approvals and denials, deletions, admin actions. Never a secret,
 * never a WeChat openid, unionid or phone number: a user is named only by the
 * opaque `sub`, which outlives the user's deletion here until the retention
 * purges it. No foreign keys, for that reason.
 */
export const auditLog = sqliteTable(
  'audit_log',
  {
    /** SQLite's rowid: ascending with time, so newest first is `ORDER BY id DESC`. */
    id: integer('id').primaryKey(),
    at: integer('at').notNull(),
    /** What happened, e.g. `login`, `user.created`, `user.deleted` (docs/protocol.md lists them). */
    event: text('event').notNull(),
    /** Who did it: `user` (the person), `admin`, `client`, or `bridge` (the bridge on its own). */
    actor: text('actor').notNull(),
    userId: text('user_id'),
    clientId: text('client_id'),
    /** Event-specific facts (the door, the WeChat appid, how a binding was made); JSON, never a secret. */
    detail: text('detail', { mode: 'json' }).$type<Record<string, string | number | boolean>>(),
  },
  (table) => [index('audit_log_user').on(table.userId, table.at), index('audit_log_at').on(table.at)],
);
