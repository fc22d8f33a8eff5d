// Shared shapes for the classification case tables: a case is [sql, expected class, expectations].
// Unless a case says otherwise it expects: no hint, no effects, readOnly false, one statement,
// isWrite true for 'write' and false for 'read', onlyMeridianSettings false.

import { VolatilityCatalog } from '../../../src/classify/catalog.js';
import { Classifier } from '../../../src/classify/classifier.js';
import type { PinKind, RouteHint, SessionEffect, StatementClass } from '../../../src/classify/types.js';

export interface Expect {
  readonly w?: boolean; // isWrite
  readonly ro?: boolean; // readOnly
  readonly hint?: RouteHint | null;
  readonly effects?: readonly SessionEffect[];
  readonly fns?: readonly string[]; // functions (checked only when given)
  readonly n?: number; // statements
  readonly reason?: string; // substring of reason
  readonly only?: boolean; // onlyMeridianSettings
}

export type Case = readonly [sql: string, cls: StatementClass, expect?: Expect];

export const MASTER: RouteHint = { route: 'master' };
export const REPLICA: RouteHint = { route: 'replica' };
export const node = (name: string): RouteHint => ({ node: name });

export const set = (name: string, sql: string): SessionEffect => ({ type: 'set', name, sql });
export const reset = (name: string): SessionEffect => ({ type: 'reset', name });
export const pin = (kind: PinKind, key: string): SessionEffect => ({ type: 'pin', pin: kind, key });
export const unpin = (kind: PinKind, key: string | null): SessionEffect => ({ type: 'unpin', pin: kind, key });
export const route = (hint: RouteHint | null, isLocal = false): SessionEffect => ({ type: 'route-hint', hint, isLocal });
export const savepoint = (name: string): SessionEffect => ({ type: 'savepoint', name });
export const release = (name: string): SessionEffect => ({ type: 'release', name });
export const rollbackTo = (name: string): SessionEffect => ({ type: 'rollback-to', name });
export const CATALOG_CHANGED: SessionEffect = { type: 'catalog-changed' };
export const STATE_UNKNOWN: SessionEffect = { type: 'state-unknown' };
export const RESET_ALL: SessionEffect = { type: 'reset-all' };
export const DISCARD_ALL: SessionEffect = { type: 'discard-all' };

/**
 * The catalog the case tables run against (as if loaded from pg_proc): user functions with known
 * volatility. Built-ins come from the classifier's own lists.
 */
export const CATALOG_ROWS = [
  { nspname: 'public', proname: 'app_stable_fn', provolatile: 's' },
  { nspname: 'public', proname: 'app_immutable_fn', provolatile: 'i' },
  { nspname: 'public', proname: 'app_volatile_fn', provolatile: 'v' },
  { nspname: 'public', proname: 'insert_audit', provolatile: 'v' },
  { nspname: 'public', proname: 'get_user_stats', provolatile: 's' },
  { nspname: 'public', proname: 'CamelFn', provolatile: 's' },
  { nspname: 'app', proname: 'tenant_lookup', provolatile: 's' },
  { nspname: 'app', proname: 'do_thing', provolatile: 'v' },
  { nspname: 'public', proname: 'my_proc', provolatile: 'v' },
  { nspname: 'public', proname: 'int4pl', provolatile: 'i' },
  { nspname: 'pg_catalog', proname: 'random', provolatile: 'v' },
  { nspname: 'pg_catalog', proname: 'nextval', provolatile: 'v' },
  { nspname: 'pg_catalog', proname: 'now', provolatile: 's' },
];

/** A classifier with the parser loaded and CATALOG_ROWS as its catalog (call in beforeAll). */
export async function testClassifier(): Promise<Classifier> {
  await Classifier.init();
  const catalog = new VolatilityCatalog();
  catalog.load(CATALOG_ROWS);
  return new Classifier({ catalog });
}
