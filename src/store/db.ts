import { fillPlaceholders } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import { drizzle } from 'drizzle-orm/d1';

const instances = new WeakMap<D1Database, ReturnType<typeof drizzle>>();

/** Drizzle over a D1 binding, made once per binding (the relational query API is not used, so no schema is parsed). */
export function database(d1: D1Database) {
  let db = instances.get(d1);
  if (!db) instances.set(d1, (db = drizzle(d1)));
  return db;
}

/** Drizzle over D1; `$client` is the raw binding, for the few statements drizzle cannot express. */
export type Db = ReturnType<typeof database>;

/**
 * A statement built once per database, with `sql.placeholder`s for what
 * changes, then only bound: drizzle does not build its SQL again on each
 * request. For a batch, forBatch binds them.
 */
export function preparedOnce<Prepared>(build: (db: Db) => Prepared): (db: Db) => Prepared {
  const built = new WeakMap<Db, Prepared>();
  return (db) => {
    let prepared = built.get(db);
    if (!prepared) built.set(db, (prepared = build(db)));
    return prepared;
  };
}

/** What a prepared statement (drizzle's `.prepare()`) offers a batch. */
interface Prepared {
  getQuery(): { sql: string; params: unknown[] };
  mapResult(result: unknown, isFromBatch?: boolean): unknown;
}

/**
 * A batch's statement from one prepared once per database (preparedOnce,
 * with `sql.placeholder`s), bound to `values`: what drizzle's D1 batch asks
 * of a query builder (`_prepare()`: the statement, its query, how its rows
 * are read), without building the SQL again.
 */
export function forBatch(prepared: Prepared, values: Record<string, unknown>): BatchItem<'sqlite'> {
  const { sql: text, params } = prepared.getQuery();
  const bound = {
    stmt: (prepared as unknown as { stmt: D1PreparedStatement }).stmt,
    getQuery: () => ({ sql: text, params: fillPlaceholders(params, values) }),
    mapResult: (result: unknown, isFromBatch?: boolean) => prepared.mapResult(result, isFromBatch),
  };
  return { _prepare: () => bound } as unknown as BatchItem<'sqlite'>;
}

/** Statements prepared once, each bound to the same `values`, for one batch. */
export function forAll(prepared: readonly [Prepared, ...Prepared[]], values: Record<string, unknown>): [BatchItem<'sqlite'>, ...BatchItem<'sqlite'>[]] {
  const [first, ...rest] = prepared;
  return [forBatch(first, values), ...rest.map((statement) => forBatch(statement, values))];
}

/** True when D1 refused a write for a UNIQUE or PRIMARY KEY constraint: a concurrent writer won. */
export function isUniqueViolation(error: unknown): boolean {
  const messages: string[] = [];
  for (let cause: unknown = error; cause instanceof Error; cause = cause.cause) messages.push(cause.message);
  return messages.some((message) => /UNIQUE constraint failed|PRIMARY KEY/i.test(message));
}

/** True when D1 refused a write for a FOREIGN KEY constraint: what it refers to is gone (a deleted user). */
export function isForeignKeyViolation(error: unknown): boolean {
  for (let cause: unknown = error; cause instanceof Error; cause = cause.cause) if (/FOREIGN KEY constraint failed/i.test(cause.message)) return true;
  return false;
}
