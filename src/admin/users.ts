/**
 * `POST /admin/users` (docs/protocol.md protocol §10): imports a
 * user who existed before the bridge, known by phone alone. Their first WeChat
 * login that verifies this number becomes them (§7, binding rule 3).
 */
import { Hono } from 'hono';
import { bridge, type AppEnv } from '../context';
import { invalidRequest, OAuthError } from '../errors';
import { importUser, type UserImport } from '../store/user-import';
import { readJson } from '../web/request';

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

export const adminUsers = new Hono<AppEnv>().post('/', async (c) => {
  const { db, now } = bridge(c);
  const user = parseUserImport(await readJson(c));
  const sub = await importUser(db, user, now);
  if (sub === undefined) throw new OAuthError('phone_number_in_use', 'a user already has this phone number', 409);
  return c.json({ sub }, 201);
});
