/**
 * The sandbox on a developer's machine is reachable by any web page the
 * developer opens: a page may send a "simple" cross-origin POST (text/plain,
 * a form) without asking. Every sandbox POST takes application/json only,
 * which a browser sends cross-origin only after a CORS preflight the sandbox
 * never answers: anything else is 415, and nothing is minted or queued.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { call, mint } from '../support/oidc';
import { expectJsonError } from './support';

/** The sandbox's own KV keys: minted codes, queued faults. */
async function sandboxKeys(): Promise<string[]> {
  const keys: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await env.KV.list({ prefix: 'sandbox:', cursor });
    keys.push(...page.keys.map((key) => key.name));
    cursor = page.list_complete ? undefined : page.cursor;
  } while (cursor);
  return keys.filter((key) => !key.startsWith('sandbox:calls:')).sort();
}

const BODIES = {
  '/sandbox/wechat/codes': JSON.stringify({ kind: 'miniprogram', openid: 'oCrossOrigin' }),
  '/sandbox/wechat/faults': JSON.stringify({ path: '/sns/jscode2session', fault: -1 }),
};

describe('hostile input: the sandbox takes JSON only', () => {
  it.each(Object.keys(BODIES))('POST %s as a cross-origin page could send it is 415, and changes nothing', async (path) => {
    const body = BODIES[path as keyof typeof BODIES];
    for (const contentType of ['text/plain', 'text/plain;charset=UTF-8', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', undefined]) {
      const before = await sandboxKeys();
      const headers: Record<string, string> = { Origin: 'https://evil.example' };
      if (contentType) headers['Content-Type'] = contentType;
      const response = await call(path, { method: 'POST', headers, body });
      await expectJsonError(response, { 415: ['invalid_request'] }, `${path} ${contentType}`);
      expect(response.headers.get('Access-Control-Allow-Origin')).toBeNull();
      expect(await sandboxKeys()).toEqual(before);
    }
  });

  it('the sandbox answers no CORS preflight, so a cross-origin page cannot send JSON', async () => {
    const response = await call('/sandbox/wechat/codes', {
      method: 'OPTIONS',
      headers: { Origin: 'https://evil.example', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type' },
    });
    expect(response.headers.get('Access-Control-Allow-Origin')).toBeNull();
  });

  it('JSON still mints', async () => {
    expect(await mint({ kind: 'miniprogram' })).toMatchObject({ code: expect.any(String), appid: 'wx0000000000mini01' });
  });
});
