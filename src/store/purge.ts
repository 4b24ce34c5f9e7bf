/**
 * The scheduled purge (docs/storage.md "Retention"): the rows that would
 * otherwise only grow are deleted once nothing can read them to a different
 * answer than their absence gives. Each rule below says what its row guards
 * and until when; `purgeCutoffs` holds the times, `purge` the deleting.
 *
 * Every round is one `db.batch` (one round trip, one transaction) of one
 * bounded DELETE per rule; rounds repeat while a rule filled its batch, up
 * to a bound per run, and the next run takes up what is left.
 */
import { and, eq, inArray, like, lt, notExists, or, sql, type SQL } from 'drizzle-orm';
import type { SQLiteTable } from 'drizzle-orm/sqlite-core';
import type { Config } from '../config';
import type { Db } from './db';
import { auditLog, authorizationCodes, deviceCodes, grants, loginApprovals, refreshTokens, revokedAccessTokens, sessions, singleUses } from './schema';

/**
 * Seconds kept beyond what each rule's argument needs: the times compared
 * were written by other machines, whose clocks may differ a little.
 */
const CLOCK_SLACK = 60;

/**
 * RFC 8628 §3.5: an expired device code answers `expired_token` (start
 * again) rather than `invalid_grant`. A device polls at its interval, and
 * backs off after timeouts; for an hour past its expiry it still hears why.
 */
const DEVICE_CODE_GRACE = 3600;

export interface PurgeBounds {
  /** Rows deleted per table in one round at most. */
  batch: number;
  /** Rounds per run at most. */
  rounds: number;
}

/**
 * At most 1000 rows per table per round and 5 rounds per run: 5000 rows a
 * table, 40,000 in all. A run is at most 5 round trips of 8 statements (40,
 * inside even the Free plan's 50 D1 queries per invocation, however a batch
 * is counted), and a round holds the database for one short transaction.
 */
const PURGE_BOUNDS: PurgeBounds = { batch: 1000, rounds: 5 };

export type PurgeTable =
  | 'login_approvals'
  | 'device_codes'
  | 'single_uses'
  | 'sessions'
  | 'authorization_codes'
  | 'refresh_tokens'
  | 'grants'
  | 'revoked_access_tokens'
  | 'audit_log';

export interface PurgeReport {
  /** Rows deleted per table in this run. */
  deleted: Record<PurgeTable, number>;
  rounds: number;
  /** False when a table still filled its last batch: the next run goes on. */
  complete: boolean;
}

/**
 * The times (epoch seconds) before which each rule's rows go, at `now`.
 * A row goes when its time is strictly earlier than its cutoff.
 */
export function purgeCutoffs(ttl: Config['ttl'], now: number) {
  const past = now - CLOCK_SLACK;
  return {
    /** device_codes.expires_at: the device has heard expired_token for DEVICE_CODE_GRACE. */
    deviceCode: past - DEVICE_CODE_GRACE,
    /**
     * login_approvals.auth_time: an answer is written while its pending login
     * waits, so that login (browser or device) ended at most this long after.
     */
    approval: past - Math.max(ttl.pendingLogin, ttl.deviceCode),
    /** single_uses.used_at, by the kind of thing used once (see `SINGLE_USE_KINDS`). */
    singleUse: { code: past - ttl.authorizationCode, device: past - ttl.deviceCode, login: past - ttl.pendingLogin },
    /** sessions, refresh_tokens and revoked_access_tokens: expires_at. */
    expiry: past,
    /**
     * authorization_codes.expires_at: a code is used before its expiry, so its
     * marker (`singleUse.code`) goes no later than the code, and a replay
     * always finds the code to be checked against.
     */
    code: past - ttl.authorizationCode,
    /**
     * grants: revoked_at or expires_at. After either, no token is issued from
     * the grant; the last access token issued lives ttl.accessToken more.
     */
    grant: past - ttl.accessToken,
    /** audit_log.at: the retention operators chose (AUDIT_RETENTION_DAYS). */
    audit: now - ttl.audit,
  };
}

export type PurgeCutoffs = ReturnType<typeof purgeCutoffs>;

/**
 * The keys of single_uses, each written where that thing is used once, and
 * refused after its own expiry whether or not its marker is still here.
 * A key of any other kind is never purged.
 */
const SINGLE_USE_KINDS = {
  // RFC 6749 §4.1.2 (src/oidc/grants/authorization-code.ts): the code is refused past its expires_at.
  code: 'code:',
  // RFC 8628 §3.5 (src/oidc/grants/device-code.ts): an expired device code answers expired_token before it could issue.
  device: 'device:',
  // A browser login's way back (src/login/pages.ts): it needs the pending login, refused past its expiresAt.
  login: 'login:',
} as const;

const rowid = sql`rowid`;

/** At most `limit` rows of `table` where `where` holds. */
function bounded(db: Db, table: SQLiteTable, where: SQL | undefined, limit: number) {
  return db.delete(table).where(inArray(rowid, db.select({ rowid }).from(table).where(where).limit(limit)));
}

/** Grants past use: revoked or expired long enough ago that every token issued from them has expired. */
const spentGrant = (cutoff: number) => or(lt(grants.revokedAt, cutoff), lt(grants.expiresAt, cutoff));

/**
 * One statement per table, in the order the batch runs them: an answer
 * before the device code whose user code names it, refresh tokens before
 * their grant (the foreign key).
 */
export function purgeStatements(db: Db, cutoffs: PurgeCutoffs, limit: number): [PurgeTable, ReturnType<typeof bounded>][] {
  const used = Object.entries(SINGLE_USE_KINDS) as [keyof typeof SINGLE_USE_KINDS, string][];
  return [
    // Every reader (the handoff, the WeChat callback, the login's pages, the device poll) first needs the pending login or an unexpired device code.
    ['login_approvals', bounded(db, loginApprovals, lt(loginApprovals.authTime, cutoffs.approval), limit)],
    [
      'device_codes',
      // A user code is unique only while its row is here: an answer left behind would be met by a new device drawing that code again.
      bounded(
        db,
        deviceCodes,
        and(
          lt(deviceCodes.expiresAt, cutoffs.deviceCode),
          notExists(db.select({ one: sql`1` }).from(loginApprovals).where(eq(loginApprovals.loginId, deviceCodes.userCode))),
        ),
        limit,
      ),
    ],
    [
      'single_uses',
      bounded(
        db,
        singleUses,
        and(
          // The latest of the kinds' cutoffs, so that the used_at index bounds the search.
          lt(singleUses.usedAt, Math.max(...Object.values(cutoffs.singleUse))),
          or(...used.map(([kind, prefix]) => and(like(singleUses.key, `${prefix}%`), lt(singleUses.usedAt, cutoffs.singleUse[kind])))),
        ),
        limit,
      ),
    ],
    // findSession reads only unexpired sessions: an expired one and none answer alike.
    ['sessions', bounded(db, sessions, lt(sessions.expiresAt, cutoffs.expiry), limit)],
    // Redemption issues nothing from an expired code, but a replay of a used one (same client, redirect_uri, verifier) revokes while its marker lasts.
    ['authorization_codes', bounded(db, authorizationCodes, lt(authorizationCodes.expiresAt, cutoffs.code), limit)],
    [
      'refresh_tokens',
      // Kept until expiry even once used, for reuse detection (RFC 9700 §4.14.2); a revoked grant's tokens go with it.
      bounded(
        db,
        refreshTokens,
        or(lt(refreshTokens.expiresAt, cutoffs.expiry), inArray(refreshTokens.grantId, db.select({ id: grants.id }).from(grants).where(spentGrant(cutoffs.grant)))),
        limit,
      ),
    ],
    [
      'grants',
      // A bearer token whose grant is gone is inactive, as one whose grant is revoked: the grant waits out its tokens all the same.
      bounded(
        db,
        grants,
        and(spentGrant(cutoffs.grant), notExists(db.select({ one: sql`1` }).from(refreshTokens).where(eq(refreshTokens.grantId, grants.id)))),
        limit,
      ),
    ],
    // RFC 7009: a revoked access token must stay refused until its exp, then it is refused as expired.
    ['revoked_access_tokens', bounded(db, revokedAccessTokens, lt(revokedAccessTokens.expiresAt, cutoffs.expiry), limit)],
    // Nothing reads an entry to decide anything: it goes when the retention says.
    ['audit_log', bounded(db, auditLog, lt(auditLog.at, cutoffs.audit), limit)],
  ];
}

/** Deletes what is past its retention at `now` (epoch seconds), within `bounds`. */
export async function purge(db: Db, ttl: Config['ttl'], now: number, bounds: PurgeBounds = PURGE_BOUNDS): Promise<PurgeReport> {
  const statements = purgeStatements(db, purgeCutoffs(ttl, now), bounds.batch);
  const [first, ...rest] = statements.map(([, statement]) => statement);
  const deleted = { login_approvals: 0, device_codes: 0, single_uses: 0, sessions: 0, authorization_codes: 0, refresh_tokens: 0, grants: 0, revoked_access_tokens: 0, audit_log: 0 };
  let rounds = 0;
  let full = true;
  while (full && rounds < bounds.rounds) {
    rounds++;
    const results = await db.batch([first!, ...rest]);
    full = false;
    statements.forEach(([table], i) => {
      const changes = results[i]!.meta.changes;
      deleted[table] += changes;
      // Another round for every table while any filled its batch: a grant waits for its refresh tokens.
      if (changes >= bounds.batch) full = true;
    });
  }
  return { deleted, rounds, complete: !full };
}
