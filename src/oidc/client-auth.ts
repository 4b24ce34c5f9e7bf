/**
 * Client authentication at the token, revocation, introspection and device
 * authorization endpoints: RFC 6749 §2.3.1 (client_secret_basic,
 * client_secret_post) and public clients identified by client_id alone
 * (auth method "none").
 */
import type { AppContext, Bridge } from '../context';
import { matchesHash } from '../crypto';
import { invalidRequest, OAuthError } from '../errors';
import { findClient } from '../store/clients';
import type { Db } from '../store/db';
import type { AuthMethod, Client } from '../types';
import { readForm } from '../web/request';

interface Presented {
  method: AuthMethod;
  clientId: string;
  secret?: string;
}

/** Which credentials the request carries, checked for shape only. */
export function presentedCredentials(authorization: string | undefined, params: Map<string, string>, issuer: string): Presented {
  const bodyId = params.get('client_id');
  const bodySecret = params.get('client_secret');
  if (authorization !== undefined) {
    const basic = parseBasic(authorization);
    if (!basic) throw invalidClient('malformed Basic credentials', issuer);
    // RFC 6749 §2.3: one authentication method per request.
    if (bodySecret !== undefined) throw invalidRequest('use one client authentication method, not two');
    if (bodyId !== undefined && bodyId !== basic.clientId) throw invalidRequest('client_id does not match the credentials');
    return { method: 'client_secret_basic', ...basic };
  }
  if (bodyId === undefined) throw invalidClient('client authentication is required', issuer);
  if (bodySecret !== undefined) return { method: 'client_secret_post', clientId: bodyId, secret: bodySecret };
  return { method: 'none', clientId: bodyId };
}

/** The form body of a client's request to one of these endpoints, and the client it authenticates. */
export async function clientRequest(c: AppContext, bridge: Bridge): Promise<{ client: Client; params: Map<string, string> }> {
  const params = await readForm(c);
  const client = await authenticateClient(bridge.db, c.req.header('Authorization'), params, bridge.config.issuer);
  return { client, params };
}

export async function authenticateClient(
  db: Db,
  authorization: string | undefined,
  params: Map<string, string>,
  issuer: string,
): Promise<Client> {
  const presented = presentedCredentials(authorization, params, issuer);
  const client = await findClient(db, presented.clientId);
  if (!client || client.metadata.token_endpoint_auth_method !== presented.method) {
    throw invalidClient('client authentication failed', issuer);
  }
  if (presented.method !== 'none' && !(await matchesHash(presented.secret ?? '', client.secretHash ?? ''))) {
    throw invalidClient('client authentication failed', issuer);
  }
  return client;
}

/** RFC 6749 §5.2: 401 with a WWW-Authenticate challenge for the Basic scheme. */
export function invalidClient(description: string, issuer: string): OAuthError {
  return new OAuthError('invalid_client', description, 401, { 'WWW-Authenticate': `Basic realm="${issuer}"` });
}

/** RFC 7617 Basic credentials whose parts are form-urlencoded (RFC 6749 §2.3.1). */
function parseBasic(header: string): { clientId: string; secret: string } | undefined {
  const match = /^Basic ([A-Za-z0-9+/]+=*)$/i.exec(header.trim());
  if (!match) return undefined;
  try {
    const decoded = atob(match[1]!);
    const colon = decoded.indexOf(':');
    if (colon < 1) return undefined;
    const decode = (part: string) => decodeURIComponent(part.replace(/\+/g, ' '));
    return { clientId: decode(decoded.slice(0, colon)), secret: decode(decoded.slice(colon + 1)) };
  } catch {
    return undefined;
  }
}
