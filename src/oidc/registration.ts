/** Dynamic client registration, RFC 7591 §3, and what the client may later read of itself (RFC 7592 §3). */
import { Hono } from 'hono';
import type { Config } from '../config';
import { bridge, type AppEnv } from '../context';
import { randomId, sha256, timingSafeEqualStrings } from '../crypto';
import { OAuthError } from '../errors';
import { PATHS } from '../paths';
import { insertClient } from '../store/clients';
import type { Client } from '../types';
import { readJson } from '../web/request';
import { metadataPolicy, parseClientMetadata } from './client-metadata';

export const registration = new Hono<AppEnv>().post('/', async (c) => {
  const { config, db, now } = bridge(c);

  // RFC 7591 §3: registration is protected by an initial access token (RFC 6750 bearer).
  const presented = /^Bearer ([^\s]+)$/i.exec(c.req.header('Authorization') ?? '')?.[1];
  if (!presented || !(await timingSafeEqualStrings(presented, config.registrationToken))) {
    throw new OAuthError('invalid_token', 'a valid initial access token is required', 401, {
      'WWW-Authenticate': 'Bearer error="invalid_token"',
    });
  }

  const metadata = parseClientMetadata(await readJson(c, 'invalid_client_metadata'), metadataPolicy(config));
  const clientId = randomId(16);
  const secret = metadata.token_endpoint_auth_method === 'none' ? undefined : randomId(32);
  // RFC 7592 §3: the registration access token, kept only as its hash.
  const registrationToken = randomId(32);
  const [secretHash, registrationTokenHash] = await Promise.all([secret ? sha256(secret) : null, sha256(registrationToken)]);
  const client = { clientId, secretHash, metadata, issuedAt: now };
  await insertClient(db, { ...client, registrationTokenHash });
  return c.json(clientInformation(config, client, registrationToken, secret), 201);
});

/**
 * RFC 7591 §3.2.1 and RFC 7592 §3: the registered metadata with the
 * credentials and where to manage them. The secret appears only when it was
 * just issued: the bridge keeps no more than its hash.
 */
export function clientInformation(config: Config, client: Client, registrationToken: string, newSecret?: string) {
  return {
    client_id: client.clientId,
    ...(newSecret && { client_secret: newSecret }),
    ...(client.secretHash !== null && { client_secret_expires_at: 0 }),
    client_id_issued_at: client.issuedAt,
    ...client.metadata,
    registration_client_uri: `${config.issuer}${PATHS.registration}/${client.clientId}`,
    registration_access_token: registrationToken,
  };
}
