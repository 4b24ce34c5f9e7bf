/**
 * Registered clients. Registration is their only write, so a client read
 * once is kept in the isolate for a minute: the token endpoint then costs
 * no D1 round trip for client authentication.
 */
import { eq } from 'drizzle-orm';
import type { Client, ClientMetadata } from '../types';
import type { Db } from './db';
import { clients } from './schema';

const CACHE_MS = 60_000;
const CACHE_MAX = 1000;
const cache = new Map<string, { client: Client | undefined; until: number }>();

export async function findClient(db: Db, clientId: string): Promise<Client | undefined> {
  const hit = cache.get(clientId);
  if (hit && hit.until > Date.now()) return hit.client;
  const row = await db.select().from(clients).where(eq(clients.clientId, clientId)).get();
  const client = row && { ...row, metadata: row.metadata as ClientMetadata };
  // Unknown ids are not cached: a registration must be usable at once.
  if (client) {
    if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value!);
    cache.set(clientId, { client, until: Date.now() + CACHE_MS });
  }
  return client;
}

export async function insertClient(db: Db, client: Client): Promise<void> {
  await db.insert(clients).values(client);
}
