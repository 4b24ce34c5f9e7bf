import { drizzle } from 'drizzle-orm/d1';
import * as schema from './schema';

export const database = (d1: D1Database) => drizzle(d1, { schema });

/** Drizzle over D1; `$client` is the raw binding, for the few statements drizzle cannot express. */
export type Db = ReturnType<typeof database>;

/** True when D1 refused a write for a UNIQUE or PRIMARY KEY constraint: a concurrent writer won. */
export function isUniqueViolation(error: unknown): boolean {
  const messages: string[] = [];
  for (let cause: unknown = error; cause instanceof Error; cause = cause.cause) messages.push(cause.message);
  return messages.some((message) => /UNIQUE constraint failed|PRIMARY KEY/i.test(message));
}
