/**
 * The admin API's users (docs/protocol.md "Operating"): `POST /admin/users`
 * imports a user who existed before the bridge, known by phone alone (their
 * first WeChat login that verifies this number becomes them, binding rule 3);
 * `GET` finds one, with identities and grants; `DELETE /admin/users/<sub>`
 * deletes one as the person's own deletion does; `POST .../revoke` revokes
 * every grant and session.
 */
import { Hono } from 'hono';
import { deleteAccount, revokeAccount } from '../account/leaving';
import { bridge, type AppEnv } from '../context';
import { invalidRequest, OAuthError } from '../errors';
import { subjectFor } from '../identity/pairwise';
import { findUserRecord, type UserKey } from '../store/accounts';
import { importUser, type UserImport } from '../store/user-import';
import { readJson } from '../web/request';
import { onlyParams } from './params';

/** ITU-T E.164 as the admin API takes it: "+", then 8 to 15 digits, the first not 0. */
const E164 = /^\+[1-9]\d{7,14}$/;

/** The longest `name`, in characters: it goes out in ID tokens (`name`, `nickname`). */
export const NAME_MAX = 64;

/** A name shown as a person's: something visible, short, no control characters, no lone surrogates. */
const isName = (value: unknown): value is string =>
  typeof value === 'string' &&
  /\S/u.test(value) &&
  [...value].length <= NAME_MAX &&
  !/\p{Cc}|\p{Cs}/u.test(value);

/** The import request, checked whole before anything is written; nothing is normalised silently. */
export function parseUserImport(body: unknown): UserImport {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalidRequest('the body must be a JSON object');
  const { phone, name, ...rest } = body as Record<string, unknown>;
  const [unknown] = Object.keys(rest);
  // A misspelt member would otherwise import a user without what the admin meant to give.
  if (unknown !== undefined) throw invalidRequest(`unknown member ${unknown}: a user import has phone and name`);
  if (phone === undefined) throw invalidRequest('phone is required');
  if (typeof phone !== 'string' || !E164.test(phone)) {
    throw invalidRequest('phone must be E.164: "+", the country code and the number, 8 to 15 digits (e.g. +8613800138000)');
  }
  if (name !== undefined && !isName(name)) {
    throw invalidRequest(`name must be a non-blank string of at most ${NAME_MAX} characters, without control characters`);
  }
  return { phoneNumber: phone, name };
}

/** `GET /admin/users`: exactly one of openid, unionid, phone and sub; appid only beside openid. */
export function parseUserKey(search: URLSearchParams): UserKey {
  const params = onlyParams(search, ['openid', 'appid', 'unionid', 'phone', 'sub']);
  const keys = ['openid', 'unionid', 'phone', 'sub'].filter((name) => params.has(name));
  if (keys.length !== 1) throw invalidRequest('give exactly one of openid, unionid, phone and sub');
  const appid = params.get('appid');
  if (appid !== undefined && keys[0] !== 'openid') throw invalidRequest('appid goes with openid');
  const value = params.get(keys[0]!)!;
  switch (keys[0]) {
    case 'openid':
      return { openid: value, ...(appid !== undefined && { appid }) };
    case 'unionid':
      return { unionid: value };
    case 'phone':
      if (!E164.test(value)) throw invalidRequest('phone must be E.164 (e.g. +8613800138000)');
      return { phone: value };
    default:
      return { sub: value };
  }
}

const noSuchUser = () => new OAuthError('user_not_found', 'no user matches', 404);

export const adminUsers = new Hono<AppEnv>()
  .post('/', async (c) => {
    const { db, now } = bridge(c);
    const user = parseUserImport(await readJson(c));
    const sub = await importUser(db, user, now);
    if (sub === undefined) throw new OAuthError('phone_number_in_use', 'a user already has this phone number', 409);
    return c.json({ sub }, 201);
  })
  .get('/', async (c) => {
    const { db, config } = bridge(c);
    const found = await findUserRecord(db, parseUserKey(new URL(c.req.url).searchParams));
    if (!found) throw noSuchUser();
    const { user, identities, grants } = found;
    return c.json({
      sub: user.id,
      phone_number: user.phoneNumber,
      name: user.nickname,
      created_at: user.createdAt,
      identities: identities.map((identity) => ({ appid: identity.appid, openid: identity.openid, unionid: identity.unionid, created_at: identity.createdAt })),
      grants: await Promise.all(
        grants.map(async (grant) => ({
          client_id: grant.clientId,
          client_name: grant.metadata.client_name ?? grant.clientId,
          // What this client knows the person as (OpenID Connect Core §8): what an operator needs to talk to it about them.
          sub: await subjectFor(config.pairwiseSecret, { clientId: grant.clientId, metadata: grant.metadata }, user.id),
          scope: grant.scope,
          created_at: grant.createdAt,
          expires_at: grant.expiresAt,
          revoked_at: grant.revokedAt,
        })),
      ),
    });
  })
  .delete('/:sub', async (c) => {
    const sub = c.req.param('sub');
    if (!(await deleteAccount(bridge(c), sub, 'admin'))) throw noSuchUser();
    return c.json({ status: 'deleted', sub });
  })
  .post('/:sub/revoke', async (c) => {
    const sub = c.req.param('sub');
    const revoked = await revokeAccount(bridge(c), sub);
    if (!revoked) throw noSuchUser();
    return c.json({ sub, grants_revoked: revoked.grants, sessions_ended: revoked.sessions });
  });
