/**
 * Registered clients. Writes are rare (registration, and the client's own
 * management, RFC 7592), so a client read once is kept in the isolate for a
 * minute: the token endpoint then costs no D1 round trip for client
 * authentication. This isolate forgets a client it updates or deletes at
 * once; another isolate may keep the old metadata up to that minute.
 */
import { eq, inArray } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import type { Client, ClientMetadata } from '../types';
import type { Db } from './db';
import { authorizationCodes, clients, deviceCodes, grants, refreshTokens } from './schema';

const CACHE_MS = 60_000;
const CACHE_MAX = 1000;
const cache = new Map<string, { client: Client | undefined; until: number }>();

/** A client as its management endpoint sees it (RFC 7592 §3): with the hash of its registration access token. */
export interface ManagedClient extends Client {
  registrationTokenHash: string | null;
}

export async function findClient(db: Db, clientId: string): Promise<Client | undefined> {
  const hit = cache.get(clientId);
  if (hit && hit.until > Date.now()) return hit.client;
  const row = await db.select().from(clients).where(eq(clients.clientId, clientId)).get();
  const client = row && toClient(row);
  // Unknown ids are not cached: a registration must be usable at once.
  if (client) {
    if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value!);
    cache.set(clientId, { client, until: Date.now() + CACHE_MS });
  }
  return client;
}

/** Read fresh, never from the cache: management must see the registration token as it is now. */
export async function findManagedClient(db: Db, clientId: string): Promise<ManagedClient | undefined> {
  const row = await db.select().from(clients).where(eq(clients.clientId, clientId)).get();
  return row && { ...toClient(row), registrationTokenHash: row.registrationTokenHash };
}

function toClient(row: typeof clients.$inferSelect): Client {
  return { clientId: row.clientId, secretHash: row.secretHash, metadata: row.metadata as ClientMetadata, issuedAt: row.issuedAt };
}

export async function insertClient(db: Db, client: ManagedClient): Promise<void> {
  await db.insert(clients).values(client);
}

/** RFC 7592 §2.2: the metadata (and the secret's hash, when the auth method changed) replaced. */
export async function updateClient(db: Db, clientId: string, update: Pick<Client, 'metadata' | 'secretHash'>): Promise<void> {
  cache.delete(clientId);
  await db.update(clients).set(update).where(eq(clients.clientId, clientId));
}

/**
 * RFC 7592 §2.3: the client and everything it holds, in one batch (a
 * transaction), so every token of it stops working at once: its grants go
 * (access tokens name their grant), their refresh tokens, its device and
 * authorization codes.
 * Children first, for the foreign keys.
 */
export async function deleteClient(db: Db, clientId: string): Promise<void> {
  cache.delete(clientId);
  const ofClient = db.select({ id: grants.id }).from(grants).where(eq(grants.clientId, clientId));
  const statements: [BatchItem<'sqlite'>, ...BatchItem<'sqlite'>[]] = [
    db.delete(refreshTokens).where(inArray(refreshTokens.grantId, ofClient)),
    db.delete(grants).where(eq(grants.clientId, clientId)),
    db.delete(deviceCodes).where(eq(deviceCodes.clientId, clientId)),
    db.delete(authorizationCodes).where(eq(authorizationCodes.clientId, clientId)),
    db.delete(clients).where(eq(clients.clientId, clientId)),
  ];
  await db.batch(statements);
}
