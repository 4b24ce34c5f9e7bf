import { env } from 'cloudflare:workers';
import { eq } from 'drizzle-orm';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { database } from '../../src/store/db';
import { refreshTokenProblem, rotateRefreshToken, type RefreshTokenProblem } from '../../src/store/grants';
import { clients, grants, refreshTokens, users } from '../../src/store/schema';
import type { ClientMetadata } from '../../src/types';

const db = database(env.DB);
const id = (prefix: string) => `${prefix}-${crypto.randomUUID()}`;
const TTL = 30 * 24 * 3600;

const metadata: ClientMetadata = {
  redirect_uris: ['https://rp.example.com/callback'],
  token_endpoint_auth_method: 'client_secret_basic',
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
  application_type: 'web',
  post_logout_redirect_uris: [],
};

/** The rows every grant hangs off (foreign keys): one user, the grant's client and another client. */
let userId: string;
let clientId: string;
let otherClientId: string;

beforeAll(async () => {
  userId = id('user');
  clientId = id('client');
  otherClientId = id('other');
  await db.batch([
    db.insert(users).values({ id: userId, phoneNumber: null, nickname: 'N', picture: null, createdAt: 1, updatedAt: 1 }),
    db.insert(clients).values({ clientId, secretHash: 'h', metadata, issuedAt: 1 }),
    db.insert(clients).values({ clientId: otherClientId, secretHash: 'h', metadata, issuedAt: 1 }),
  ]);
});

interface State {
  now: number;
  usedAt: number | null;
  /** Token expiry relative to now: <= 0 is expired. */
  tokenExpiresIn: number;
  /** Grant expiry relative to now: neither rule reads it (the token's own expiry never passes it). */
  grantExpiresIn: number;
  revokedAt: number | null;
  sameClient: boolean;
  grantScope: string[];
  scopes: string[] | undefined;
}

/**
 * Inserts a grant and its refresh token in `state`, rotates it, and checks
 * that SQL and TypeScript agree; returns what TypeScript said.
 */
async function rotateAndCompare(state: State): Promise<RefreshTokenProblem | undefined> {
  const grantId = id('grant');
  const oldHash = id('old');
  const newHash = id('new');
  const grantExpiresAt = state.now + state.grantExpiresIn;
  await db.batch([
    db.insert(grants).values({
      id: grantId,
      clientId,
      userId,
      scope: state.grantScope.join(' '),
      authTime: state.now - 100,
      amr: 'wechat',
      wechatAppid: 'wx0000000000mini01',
      wechatOpenid: id('openid'),
      createdAt: state.now - 100,
      expiresAt: grantExpiresAt,
      revokedAt: state.revokedAt,
    }),
    db.insert(refreshTokens).values({
      tokenHash: oldHash,
      grantId,
      createdAt: state.now - 100,
      expiresAt: state.now + state.tokenExpiresIn,
      usedAt: state.usedAt,
      replacedBy: state.usedAt === null ? null : id('earlier'),
    }),
  ]);
  const presenter = state.sameClient ? clientId : otherClientId;
  const { before, rotated } = await rotateRefreshToken(db, { oldHash, newHash, clientId: presenter, scopes: state.scopes, now: state.now, ttl: TTL });

  // The state read in the same batch is the state inserted.
  expect(before?.token).toMatchObject({ tokenHash: oldHash, grantId, usedAt: state.usedAt, expiresAt: state.now + state.tokenExpiresIn });
  expect(before?.grant).toMatchObject({ id: grantId, clientId, revokedAt: state.revokedAt, scope: state.grantScope.join(' ') });
  expect(before?.subject.id).toBe(userId);

  const problem = refreshTokenProblem(before, presenter, state.scopes, state.now);
  expect({ rotated, problem }).toEqual({ rotated: problem === undefined, problem });

  const [old] = await db.select().from(refreshTokens).where(eq(refreshTokens.tokenHash, oldHash));
  const [successor] = await db.select().from(refreshTokens).where(eq(refreshTokens.tokenHash, newHash));
  if (rotated) {
    expect(old).toMatchObject({ usedAt: state.now, replacedBy: newHash });
    expect(successor).toEqual({
      tokenHash: newHash,
      grantId,
      createdAt: state.now,
      expiresAt: Math.min(state.now + TTL, grantExpiresAt),
      usedAt: null,
      replacedBy: null,
    });
  } else {
    expect(old).toMatchObject({ usedAt: state.usedAt });
    expect(successor).toBeUndefined();
  }
  return problem;
}

const GRANTABLE = ['openid', 'profile', 'phone', 'wechat', 'offline_access', "x'y", 'a%b_c'] as const;
/** Scope tokens (RFC 6749 §3.3 syntax, as scopeTokens returns them), some of them parts or cousins of granted ones. */
const ASKABLE = [...GRANTABLE, 'open', 'id', 'openi', 'profil', 'OPENID', "x'", 'a%', '%', '_', 'offline'] as const;

const sometimes = <T>(value: T, other: fc.Arbitrary<T>) => fc.oneof({ arbitrary: fc.constant(value), weight: 3 }, { arbitrary: other, weight: 1 });

/** Weighted towards live tokens, so that every outcome (and the boundaries) comes up in a run. */
const stateArbitrary: fc.Arbitrary<State> = fc.uniqueArray(fc.constantFrom(...GRANTABLE), { minLength: 1 }).chain((grantScope) =>
  fc.record({
    now: fc.integer({ min: 1_000_000, max: 2_000_000_000 }),
    usedAt: sometimes<number | null>(null, fc.integer({ min: 1, max: 2_000_000_000 })),
    tokenExpiresIn: fc.oneof(
      { arbitrary: fc.integer({ min: -2, max: 2 }), weight: 1 },
      { arbitrary: fc.integer({ min: 1, max: TTL }), weight: 3 },
      { arbitrary: fc.integer({ min: -TTL, max: 0 }), weight: 1 },
    ),
    grantExpiresIn: fc.oneof(fc.integer({ min: -2, max: 2 }), fc.integer({ min: -2 * TTL, max: 2 * TTL })),
    revokedAt: sometimes<number | null>(null, fc.integer({ min: 1, max: 2_000_000_000 })),
    sameClient: sometimes(true, fc.constant(false)),
    grantScope: fc.constant(grantScope),
    scopes: fc.oneof(
      fc.constant(undefined),
      fc.subarray(grantScope),
      fc.uniqueArray(fc.constantFrom(...ASKABLE), { maxLength: 4 }),
    ),
  }),
);

describe('RFC 6749 §6, RFC 9700 §4.14.2: refresh token liveness, refreshTokenProblem (TypeScript) and rotateRefreshToken (SQL) agree', () => {
  it.each<[string, Partial<State>, RefreshTokenProblem | undefined]>([
    ['a live token of this client, scope as granted', {}, undefined],
    ['a narrower scope (RFC 6749 §6)', { scopes: ['openid'] }, undefined],
    ['an empty scope list', { scopes: [] }, undefined],
    ['another client (RFC 6749 §6: bound to the client)', { sameClient: false }, 'other_client'],
    ['a revoked grant', { revokedAt: 1_700_000_000 }, 'revoked'],
    ['a used token (RFC 9700 §4.14.2: reuse)', { usedAt: 1_700_000_000 }, 'used'],
    ['a token expiring this very second', { tokenExpiresIn: 0 }, 'expired'],
    ['a token expiring next second', { tokenExpiresIn: 1 }, undefined],
    ['a wider scope (RFC 6749 §6: never widen)', { scopes: ['openid', 'phone'] }, 'scope_not_granted'],
    ['a scope that is a prefix of a granted one', { scopes: ['open'] }, 'scope_not_granted'],
    ['a scope that is the tail of a granted one', { scopes: ['id'] }, 'scope_not_granted'],
    ['a scope in another case', { scopes: ['OPENID'] }, 'scope_not_granted'],
    ['a scope with a quote, granted', { grantScope: ['openid', "x'y"], scopes: ["x'y"] }, undefined],
    ['a scope with LIKE wildcards, not granted', { grantScope: ['openid', 'a%b_c'], scopes: ['a%'] }, 'scope_not_granted'],
    ['an expired grant (its token decides)', { grantExpiresIn: -10 }, undefined],
    ['other client first, of all problems', { sameClient: false, revokedAt: 1, usedAt: 1, tokenExpiresIn: -1, scopes: ['phone'] }, 'other_client'],
    ['revoked before used', { revokedAt: 1, usedAt: 1 }, 'revoked'],
    ['used before expired', { usedAt: 1, tokenExpiresIn: -1 }, 'used'],
    ['expired before a wider scope', { tokenExpiresIn: -1, scopes: ['phone'] }, 'expired'],
  ])('%s: %s', async (_, overrides, expected) => {
    const state: State = {
      now: 1_800_000_000,
      usedAt: null,
      tokenExpiresIn: 3600,
      grantExpiresIn: TTL,
      revokedAt: null,
      sameClient: true,
      grantScope: ['openid', 'profile', 'offline_access'],
      scopes: undefined,
      ...overrides,
    };
    expect(await rotateAndCompare(state)).toBe(expected);
  });

  it('an unknown token: no state, nothing rotated, nothing written', async () => {
    const newHash = id('new');
    const { before, rotated } = await rotateRefreshToken(db, { oldHash: id('missing'), newHash, clientId, now: 1_800_000_000, ttl: TTL });
    expect(refreshTokenProblem(before, clientId, undefined, 1_800_000_000)).toBe('unknown');
    expect(rotated).toBe(false);
    expect(await db.select().from(refreshTokens).where(eq(refreshTokens.tokenHash, newHash))).toEqual([]);
  });

  it('for generated states: rotated exactly when refreshTokenProblem finds none', { timeout: 240_000 }, async () => {
    const seen = new Set<string>();
    await fc.assert(
      fc.asyncProperty(stateArbitrary, async (state) => {
        seen.add(String(await rotateAndCompare(state)));
      }),
      { numRuns: 120 },
    );
    // The generator reached every outcome, so the agreement was tested on each.
    expect([...seen].sort()).toEqual(['expired', 'other_client', 'revoked', 'scope_not_granted', 'undefined', 'used']);
  });
});
