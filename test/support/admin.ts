/** The admin API as an operator calls it, through SELF (docs/protocol.md §11). */
import { call } from './oidc';

/** The ADMIN_TOKEN binding of the test pool (vitest.config.ts). */
export const ADMIN_TOKEN = 'test-admin-token';

/** Headers to send: one given as '' is left out. */
export const withoutEmpty = (headers: Record<string, string>) => Object.fromEntries(Object.entries(headers).filter(([, value]) => value !== ''));

/** POST /admin/users with `body` (a string is sent as is), as the admin unless `headers` say otherwise ('' leaves one out). */
export function postAdminUsers(body: unknown, headers: Record<string, string> = {}) {
  return call('/admin/users', {
    method: 'POST',
    headers: withoutEmpty({ Authorization: `Bearer ${ADMIN_TOKEN}`, 'Content-Type': 'application/json', ...headers }),
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** Imports a user who existed before the bridge; their `sub`. Fails the test otherwise. */
export async function importUser(phone: string, name?: string): Promise<string> {
  const response = await postAdminUsers({ phone, ...(name !== undefined && { name }) });
  if (response.status !== 201) throw new Error(`import failed: ${response.status} ${await response.text()}`);
  return (await response.json<{ sub: string }>()).sub;
}

/** A mainland mobile number in E.164 that no other test uses. */
export const uniquePhone = () => `+86139${Array.from(crypto.getRandomValues(new Uint8Array(8)), (byte) => byte % 10).join('')}`;

/** Any admin API request, as the admin unless `headers` say otherwise ('' leaves one out). */
export function adminCall(method: string, path: string, headers: Record<string, string> = {}) {
  return call(path, { method, headers: withoutEmpty({ Authorization: `Bearer ${ADMIN_TOKEN}`, ...headers }) });
}
