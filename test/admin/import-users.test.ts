/**
 * `POST /admin/users` (docs/protocol.md §11): importing
 * users who existed before the bridge. Only the admin token gets in (RFC 6750),
 * every bad body is refused whole, and one number makes one user, concurrently too.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import type { Env } from '../../src/config';
import dev from '../../src/dev';
import { expectJsonError, sendWatched } from '../hostile/support';
import { ADMIN_TOKEN, importUser, postAdminUsers, uniquePhone, withoutEmpty } from '../support/admin';
import { ISSUER } from '../support/oidc';

const userRow = (sub: string) =>
  env.DB.prepare('SELECT phone_number AS phone, nickname FROM users WHERE id = ?').bind(sub).first<{ phone: string; nickname: string | null }>();

const watchedImport = (body: unknown, headers: Record<string, string> = {}) =>
  sendWatched('/admin/users', {
    method: 'POST',
    headers: withoutEmpty({ Authorization: `Bearer ${ADMIN_TOKEN}`, 'Content-Type': 'application/json', ...headers }),
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

describe('POST /admin/users: importing a user', () => {
  it('answers 201 with a new random sub, and keeps the number and the name', async () => {
    const phone = uniquePhone();
    const response = await postAdminUsers({ phone, name: '王建国' });
    expect(response.status).toBe(201);
    expect(response.headers.get('Cache-Control')).toBe('no-store');
    const body = await response.json<Record<string, unknown>>();
    expect(Object.keys(body)).toEqual(['sub']);
    expect(body.sub).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(body.sub).not.toContain(phone.slice(1));
    expect(await userRow(body.sub as string)).toEqual({ phone, nickname: '王建国' });
  });

  it('takes a user without a name, and names of up to 64 characters, whatever their UTF-16 length', async () => {
    const unnamed = await importUser(uniquePhone());
    expect(await userRow(unnamed)).toMatchObject({ nickname: null });
    const long = '😀'.repeat(64);
    expect(await userRow(await importUser(uniquePhone(), long))).toMatchObject({ nickname: long });
  });

  it('answers 409 to a second import of the same number, whatever the name, writing nothing', async () => {
    const phone = uniquePhone();
    const sub = await importUser(phone, 'First');
    const { response, unchanged } = await watchedImport({ phone, name: 'Second' });
    expect(response.status).toBe(409);
    await expectJsonError(response, { 409: ['phone_number_in_use'] });
    unchanged();
    expect(await userRow(sub)).toEqual({ phone, nickname: 'First' });
  });

  it('makes one user of concurrent imports of one number: one 201, the rest 409', async () => {
    const phone = uniquePhone();
    const responses = await Promise.all([1, 2, 3, 4, 5].map((n) => postAdminUsers({ phone, name: `Import ${n}` })));
    expect(responses.map((response) => response.status).sort()).toEqual([201, 409, 409, 409, 409]);
    const rows = await env.DB.prepare('SELECT count(*) AS n FROM users WHERE phone_number = ?').bind(phone).first<{ n: number }>();
    expect(rows!.n).toBe(1);
  });
});

describe('POST /admin/users: only with the admin token (RFC 6750 §3)', () => {
  it.each<[string, Record<string, string>, string]>([
    ['no Authorization header', { Authorization: '' }, 'Bearer'],
    ['an empty Authorization header', { Authorization: ' ' }, 'Bearer'],
    ['another scheme', { Authorization: `Basic ${btoa(`admin:${ADMIN_TOKEN}`)}` }, 'Bearer'],
    ['an empty bearer token', { Authorization: 'Bearer ' }, 'Bearer'],
    ['a wrong token of the same length', { Authorization: `Bearer ${ADMIN_TOKEN.slice(0, -1)}X` }, 'Bearer error="invalid_token"'],
    ['a wrong token of another length', { Authorization: `Bearer ${ADMIN_TOKEN}-and-more` }, 'Bearer error="invalid_token"'],
    ['the registration token', { Authorization: 'Bearer test-registration-token' }, 'Bearer error="invalid_token"'],
  ])('refuses %s with 401 and a Bearer challenge, before reading the body, writing nothing', async (_, headers, challenge) => {
    const { response, unchanged } = await watchedImport({ phone: uniquePhone() }, headers);
    expect(response.status).toBe(401);
    expect(response.headers.get('WWW-Authenticate')).toBe(challenge);
    await expectJsonError(response, { 401: ['invalid_token'] });
    unchanged();
    // A bad body without the token is still 401: nothing about the request is judged before the caller.
    expect((await postAdminUsers('{', headers)).status).toBe(401);
  });

  it('refuses everyone, even the development token, when ADMIN_TOKEN is not set', async () => {
    const executionContext = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext;
    for (const unset of [undefined, '']) {
      const withoutToken: Env = { ...env, ADMIN_TOKEN: unset };
      for (const token of ['', 'dev-admin-token', ADMIN_TOKEN, 'undefined']) {
        const request = new Request(`${ISSUER}/admin/users`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
          body: JSON.stringify({ phone: uniquePhone() }),
        });
        const response = await dev.fetch(request, withoutToken, executionContext);
        expect(response.status, `ADMIN_TOKEN=${unset} Bearer ${token}`).toBe(401);
        expect(response.headers.get('WWW-Authenticate')).toMatch(/^Bearer\b/);
      }
    }
  });
});

describe('POST /admin/users: a bad body is 400 invalid_request, and nothing is written', () => {
  it.each<[string, unknown, RegExp, string?]>([
    ['not JSON', '{"phone": "+8613800138000"', /not valid JSON/],
    ['not JSON by its content type', JSON.stringify({ phone: '+8613800138000' }), /application\/json/, 'text/plain'],
    ['a form', 'phone=%2B8613800138000', /application\/json/, 'application/x-www-form-urlencoded'],
    ['a JSON array', [{ phone: '+8613800138000' }], /JSON object/],
    ['JSON null', 'null', /JSON object/],
    ['a JSON string', '"+8613800138000"', /JSON object/],
    ['a JSON number', '8613800138000', /JSON object/],
    ['no phone', {}, /phone is required/],
    ['a name without a phone', { name: 'Wang' }, /phone is required/],
    ['a null phone', { phone: null }, /^phone must be E\.164/],
    ['a phone that is a number', { phone: 8613800138000 }, /^phone must be E\.164/],
    ['a phone without "+"', { phone: '8613800138000' }, /^phone must be E\.164/],
    ['an 11-digit mainland number', { phone: '13800138000' }, /^phone must be E\.164/],
    ['a phone with spaces', { phone: '+86 138 0013 8000' }, /^phone must be E\.164/],
    ['a phone with dashes', { phone: '+86-138-0013-8000' }, /^phone must be E\.164/],
    ['a phone with a 0 after "+"', { phone: '+08613800138000' }, /^phone must be E\.164/],
    ['a phone of 7 digits', { phone: '+8613800' }, /^phone must be E\.164/],
    ['a phone of 16 digits', { phone: '+8613800138000123' }, /^phone must be E\.164/],
    ['a phone with full-width digits', { phone: '+８６１３８００１３８０００' }, /^phone must be E\.164/],
    ['a phone with a trailing newline', { phone: '+8613800138000\n' }, /^phone must be E\.164/],
    ['an empty name', { phone: '+8613800138000', name: '' }, /^name must/],
    ['a blank name', { phone: '+8613800138000', name: '   ' }, /^name must/],
    ['a name of 65 characters', { phone: '+8613800138000', name: 'a'.repeat(65) }, /^name must/],
    ['a name that is not a string', { phone: '+8613800138000', name: 42 }, /^name must/],
    ['a null name', { phone: '+8613800138000', name: null }, /^name must/],
    ['a name with a control character', { phone: '+8613800138000', name: 'Wang\u0000' }, /^name must/],
    ['a name with a newline', { phone: '+8613800138000', name: 'Wang\nJianguo' }, /^name must/],
    ['a name with a lone surrogate', { phone: '+8613800138000', name: 'Wang\uD800' }, /^name must/],
    ['an unknown member', { phone: '+8613800138000', nickname: 'Wang' }, /unknown member/],
    ['a __proto__ member', '{"phone": "+8613800138000", "__proto__": {"name": "Wang"}}', /unknown member/],
  ])('refuses %s', async (_, body, description, contentType) => {
    const { response, unchanged } = await watchedImport(body, contentType ? { 'Content-Type': contentType } : {});
    expect(response.status).toBe(400);
    const error = await expectJsonError(response, { 400: ['invalid_request'] });
    expect(error.error_description).toMatch(description);
    unchanged();
  });

  it('says what is wrong with the phone', async () => {
    const response = await postAdminUsers({ phone: '13800138000' });
    expect(await response.json()).toEqual({
      error: 'invalid_request',
      error_description: "phone must be E.164: '+', the country code and the number, 8 to 15 digits (e.g. +8613800138000)",
    });
  });
});
