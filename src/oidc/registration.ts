/** Dynamic client registration, RFC 7591 §3. */
import { Hono } from 'hono';
import { bridge, type AppEnv } from '../context';
import { randomId, sha256, timingSafeEqualStrings } from '../crypto';
import { OAuthError } from '../errors';
import { insertClient } from '../store/clients';
import { readJson } from '../web/request';
import { parseClientMetadata } from './client-metadata';

export const registration = new Hono<AppEnv>().post('/', async (c) => {
  const { config, db, now } = bridge(c);

  // RFC 7591 §3: registration is protected by an initial access token (RFC 6750 bearer).
  const presented = /^Bearer ([^\s]+)$/i.exec(c.req.header('Authorization') ?? '')?.[1];
  if (!presented || !(await timingSafeEqualStrings(presented, config.registrationToken))) {
    throw new OAuthError('invalid_token', 'a valid initial access token is required', 401, {
      'WWW-Authenticate': 'Bearer error="invalid_token"',
    });
  }

  const metadata = parseClientMetadata(await readJson(c, 'invalid_client_metadata'), config.wechatApps.map((app) => app.appid));
  const clientId = randomId(16);
  const secret = metadata.token_endpoint_auth_method === 'none' ? undefined : randomId(32);
  await insertClient(db, { clientId, secretHash: secret ? await sha256(secret) : null, metadata, issuedAt: now });

  // RFC 7591 §3.2.1: the registered metadata, with the credentials.
  return c.json(
    {
      client_id: clientId,
      ...(secret && { client_secret: secret, client_secret_expires_at: 0 }),
      client_id_issued_at: now,
      ...metadata,
    },
    201,
  );
});
