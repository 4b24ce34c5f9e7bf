/**
 * `GET /admin/audit?sub=&limit=` (docs/protocol.md "The audit log"): the
 * newest entries first, of one user or of everyone.
 */
import { Hono } from 'hono';
import { bridge, type AppEnv } from '../context';
import { invalidRequest } from '../errors';
import { recentAudit } from '../store/audit';
import { onlyParams } from './params';

export const AUDIT_LIMIT = { default: 50, max: 500 } as const;

export function parseAuditQuery(search: URLSearchParams): { sub?: string; limit: number } {
  const params = onlyParams(search, ['sub', 'limit']);
  const limit = params.get('limit');
  if (limit !== undefined && !(/^[1-9]\d{0,2}$/.test(limit) && Number(limit) <= AUDIT_LIMIT.max)) {
    throw invalidRequest(`limit must be a whole number from 1 to ${AUDIT_LIMIT.max}`);
  }
  return { sub: params.get('sub'), limit: limit === undefined ? AUDIT_LIMIT.default : Number(limit) };
}

export const adminAudit = new Hono<AppEnv>().get('/', async (c) => {
  const { sub, limit } = parseAuditQuery(new URL(c.req.url).searchParams);
  return c.json({ entries: await recentAudit(bridge(c).db, sub, limit) });
});
