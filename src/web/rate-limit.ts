/**
 * Rate limits on the endpoints anyone may call without credentials
 * (docs/protocol.md §9). Each limit is a Workers Rate Limiting binding
 * (wrangler.toml `[[ratelimits]]`, where the numbers live); a request counts
 * once against every limit its kind names, all asked at once, and is refused
 * with 429 and Retry-After if any of them is spent, before its handler reads
 * or writes anything.
 */
import type { MiddlewareHandler } from 'hono';
import type { AppContext, AppEnv } from '../context';
import { OAuthError } from '../errors';

/** The bindings, each a `[[ratelimits]]` entry of wrangler.toml; what each protects is in docs/protocol.md §9. */
export type Limiter = 'LIMIT_ADDRESS' | 'LIMIT_STARTS' | 'LIMIT_CLIENT' | 'LIMIT_USER_CODES' | 'LIMIT_WECHAT' | 'LIMIT_REGISTRATION';

/**
 * What a route is, to its limits:
 * - `start`: starts a login (the authorization and device authorization endpoints);
 * - `login`: a pending login's pages and resources, the device page, what the mini program reads;
 * - `wechat`: makes WeChat exchange a code (the handoff's approval, the web login's doors and callback);
 * - `registration`: dynamic client registration.
 */
export type RouteKind = 'start' | 'login' | 'wechat' | 'registration';

export interface Check {
  limiter: Limiter;
  key: string;
}

/** What the limits of a request depend on, read from it without touching storage. */
export interface RequestFacts {
  /** The caller's address key (`addressKey`); absent when the request did not come through Cloudflare's edge. */
  address?: string;
  /** The client the request names (starts only). */
  clientId?: string;
  /** The request names a device login's user code (as a login id, or typed on the device page). */
  namesUserCode?: boolean;
}

/**
 * The limits a request counts against. Without an address (a request that
 * did not come through Cloudflare's edge or `wrangler dev`'s server: the
 * test pool's direct calls, a service binding) only the per-client limit
 * applies.
 */
export function checksFor(kind: RouteKind, { address, clientId, namesUserCode }: RequestFacts): Check[] {
  const checks: Check[] = [];
  const byAddress = (limiter: Limiter) => address !== undefined && checks.push({ limiter, key: address });
  if (kind === 'registration') {
    byAddress('LIMIT_REGISTRATION');
    return checks;
  }
  byAddress('LIMIT_ADDRESS');
  if (kind === 'start') {
    if (clientId !== undefined) checks.push({ limiter: 'LIMIT_CLIENT', key: clientId });
    // An address never has a space: the pair's key reads one way only.
    if (address !== undefined) checks.push({ limiter: 'LIMIT_STARTS', key: `${address} ${clientId ?? ''}` });
  }
  if (kind === 'login' && namesUserCode) byAddress('LIMIT_USER_CODES');
  if (kind === 'wechat') byAddress('LIMIT_WECHAT');
  return checks;
}

/**
 * The key of a caller's address (`CF-Connecting-IP`, which Cloudflare's
 * edge sets and a client cannot): an IPv4 address as it is, an IPv6 address
 * by its /64, the block one subscriber is usually given (RFC 6177), so that
 * the addresses of one network count as one.
 */
export function addressKey(ip: string | undefined): string | undefined {
  const value = ip?.trim();
  if (!value) return undefined;
  if (!value.includes(':')) return value;
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(value);
  if (mapped) return mapped[1];
  const [head = '', tail] = value.toLowerCase().split('::');
  const front = head ? head.split(':') : [];
  const back = tail ? tail.split(':') : [];
  const groups = tail === undefined ? front : [...front, ...Array<string>(Math.max(0, 8 - front.length - back.length)).fill('0'), ...back];
  return `${groups
    .slice(0, 4)
    .map((group) => group.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

/** A client_id worth a counter of its own; anything longer is refused by the endpoint and counted by address. */
const CLIENT_ID = /^[\x21-\x7e]{1,128}$/;

/**
 * The client a start names, without a storage round trip: HTTP Basic's user
 * (RFC 6749 §2.3.1), else `client_id` in the form body or the query. The
 * form body stays readable for the handler (hono keeps what was read).
 */
async function namedClient(c: AppContext): Promise<string | undefined> {
  const basic = /^Basic\s+([A-Za-z0-9+/]+=*)\s*$/i.exec(c.req.header('Authorization') ?? '')?.[1];
  let clientId: string | null | undefined;
  if (basic) {
    try {
      clientId = decodeURIComponent(atob(basic).split(':')[0]!.replace(/\+/g, ' '));
    } catch {
      clientId = undefined;
    }
  } else if (c.req.method === 'POST' && /^application\/x-www-form-urlencoded(\s*;|$)/i.test(c.req.header('Content-Type') ?? '')) {
    clientId = new URLSearchParams(new TextDecoder().decode(await c.req.arrayBuffer())).get('client_id');
  } else {
    clientId = c.req.query('client_id');
  }
  return clientId && CLIENT_ID.test(clientId) ? clientId : undefined;
}

/** The one answer past a limit (docs/protocol.md §9). */
export function rateLimited(): OAuthError {
  // Every period is 10 or 60 seconds, and the binding does not say how much of it is left: 60 is never too soon.
  return new OAuthError('temporarily_unavailable', 'too many requests: retry after the time in Retry-After', 429, { 'Retry-After': '60' });
}

/**
 * The rate-limit middleware maker: `isUserCode` says whether a login id is a
 * device login's user code (the login flow knows; this room may not import it).
 * Each middleware serves the routes of one kind, or of one kind per method.
 */
export const rateLimits = (isUserCode: (id: string) => boolean) => (kind: RouteKind | { GET: RouteKind; POST: RouteKind }): MiddlewareHandler<AppEnv> =>
  async (c, next) => {
    const routeKind = typeof kind === 'string' ? kind : c.req.method === 'POST' ? kind.POST : kind.GET;
    const loginId = c.req.param('id') ?? c.req.param('login');
    const facts: RequestFacts = {
      address: addressKey(c.req.header('CF-Connecting-IP')),
      clientId: routeKind === 'start' ? await namedClient(c) : undefined,
      namesUserCode: c.req.query('user_code') !== undefined || (loginId !== undefined && isUserCode(loginId)),
    };
    const outcomes = await Promise.all(checksFor(routeKind, facts).map(({ limiter, key }) => c.env[limiter].limit({ key })));
    if (outcomes.some((outcome) => !outcome.success)) throw rateLimited();
    await next();
  };
