/**
 * Client management, RFC 7592: with the registration access token it was
 * given, a client reads (§2.1), replaces (§2.2) and deletes (§2.3) its own
 * registration at its `registration_client_uri`. Whatever is wrong with the
 * token, and whether or not the client exists, the answer is the same 401,
 * so the endpoint tells a guesser nothing.
 */
import { Hono } from 'hono';
import { bridge, type AppContext, type AppEnv, type Bridge } from '../context';
import { matchesHash, randomId, sha256 } from '../crypto';
import { OAuthError } from '../errors';
import { sectorIdentifier } from '../identity/pairwise';
import { deleteClient, findManagedClient, updateClient, type ManagedClient } from '../store/clients';
import type { Client, ClientMetadata } from '../types';
import { readJson } from '../web/request';
import { metadataPolicy, parseClientMetadata } from './client-metadata';
import { clientInformation } from './registration';

const CLIENT_ID = /^[A-Za-z0-9_-]{1,64}$/;
const BEARER = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/i;

const invalidMetadata = (description: string) => new OAuthError('invalid_client_metadata', description);

/**
 * RFC 7592 §2: the client the path names, when the request carries its
 * registration access token. RFC 6750 §3.1: no credentials, a bare
 * challenge; wrong ones, `invalid_token`. Clients registered before client
 * management have no token and cannot be managed.
 */
async function managedClient(c: AppContext, context: Bridge): Promise<{ client: ManagedClient; token: string }> {
  const header = c.req.header('Authorization');
  const token = header === undefined ? undefined : BEARER.exec(header.trim())?.[1];
  const clientId = c.req.param('client_id') ?? '';
  const client = token && CLIENT_ID.test(clientId) ? await findManagedClient(context.db, clientId) : undefined;
  // Compared even when there is nothing to compare with, so an unknown client takes as long as a wrong token.
  const matches = await matchesHash(token ?? '', client?.registrationTokenHash ?? '');
  if (!client || !token || !matches) {
    throw new OAuthError('invalid_token', 'a valid registration access token for this client is required', 401, {
      'WWW-Authenticate': header === undefined ? 'Bearer' : 'Bearer error="invalid_token"',
    });
  }
  return { client, token };
}

/**
 * RFC 7592 §2.2 and OpenID Connect Core §8.1: what an update may not
 * change. A client's subject type and pairwise sector decide the `sub` of
 * every user it already knows; changing either would make them strangers.
 */
export function subjectChangeProblem(clientId: string, before: ClientMetadata, after: ClientMetadata): string | undefined {
  if ((before.subject_type ?? 'public') !== (after.subject_type ?? 'public')) return 'subject_type cannot change';
  if (after.subject_type === 'pairwise' && sectorIdentifier(clientId, before) !== sectorIdentifier(clientId, after)) {
    return "the https redirect_uris' host of a pairwise client cannot change";
  }
  return undefined;
}

export const clientManagement = new Hono<AppEnv>()
  // RFC 7592 §2.1
  .get('/:client_id', async (c) => {
    const context = bridge(c);
    const { client, token } = await managedClient(c, context);
    return c.json(clientInformation(context.config, client, token));
  })
  // RFC 7592 §2.2: the whole metadata replaced; omitted fields take their defaults.
  .put('/:client_id', async (c) => {
    const context = bridge(c);
    const { client, token } = await managedClient(c, context);
    const body = await readJson(c, 'invalid_client_metadata');
    const metadata = parseClientMetadata(body, metadataPolicy(context.config));
    const input = body as Record<string, unknown>;
    if (input.client_id !== client.clientId) throw invalidMetadata('client_id must be the client\'s own');
    // The client may send its secret back, never choose a new one.
    if (input.client_secret !== undefined) {
      const same = typeof input.client_secret === 'string' && (await matchesHash(input.client_secret, client.secretHash ?? ''));
      if (!same) throw invalidMetadata('client_secret does not match the issued one');
    }
    const problem = subjectChangeProblem(client.clientId, client.metadata, metadata);
    if (problem) throw invalidMetadata(problem);

    // A public client turned confidential gets a secret; a confidential one keeps its own; a public one has none.
    const newSecret = metadata.token_endpoint_auth_method !== 'none' && client.secretHash === null ? randomId(32) : undefined;
    const secretHash = metadata.token_endpoint_auth_method === 'none' ? null : newSecret ? await sha256(newSecret) : client.secretHash;
    const updated: Client = { clientId: client.clientId, secretHash, metadata, issuedAt: client.issuedAt };
    await updateClient(context.db, client.clientId, { metadata, secretHash });
    return c.json(clientInformation(context.config, updated, token, newSecret));
  })
  // RFC 7592 §2.3: the client and every token it holds, gone at once.
  .delete('/:client_id', async (c) => {
    const context = bridge(c);
    const { client } = await managedClient(c, context);
    await deleteClient(context.db, client.clientId);
    return c.body(null, 204);
  });
