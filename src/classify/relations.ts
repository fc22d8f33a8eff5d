// The relations a statement names (FROM, JOIN, subqueries, DML targets …), for routing a read only
// to nodes that replicate them (native logical replication with partial publications). From
// PostgreSQL's own parse tree: every RangeVar, less the names the statement's CTEs define.
// Lower-cased as PostgreSQL folds them ("schema.name", or "name" when unqualified). Null when the
// statement cannot be parsed or is too deep: nothing is known. Pure but for the parser, and cached
// by text (bounded).

import { LRUCache } from 'lru-cache';
import { asObject } from './ast-node.js';
import { parseSql } from './parser.js';

/** Deeper trees are not walked: nothing is known of them. */
const MAX_DEPTH = 500;
const CACHE_ENTRIES = 2000;
/** Longer statements are not cached (they are parsed each time: rare, and bounded by limits). */
const MAX_CACHED_SQL = 8192;

const NONE: readonly string[] = Object.freeze([]);

/** The relations `sql` names (see the file's header), or null when unknown. */
export function relationsOfSql(sql: string): readonly string[] | null {
  let tree: unknown;
  try {
    tree = parseSql(sql);
  } catch {
    return null;
  }
  const found = new Set<string>();
  const ctes = new Set<string>();
  try {
    walk(tree, found, ctes, 0);
  } catch {
    return null; // too deep
  }
  for (const c of ctes) found.delete(c);
  return found.size === 0 ? NONE : Object.freeze([...found]);
}

function walk(x: unknown, found: Set<string>, ctes: Set<string>, depth: number): void {
  if (depth > MAX_DEPTH) throw new RangeError('parse tree too deep');
  if (Array.isArray(x)) {
    for (const item of x) if (typeof item === 'object' && item !== null) walk(item, found, ctes, depth + 1);
    return;
  }
  const o = asObject(x);
  if (o === undefined) return;
  for (const key in o) {
    const value = o[key];
    if (typeof value !== 'object' || value === null) continue;
    if (key === 'RangeVar') {
      const rv = asObject(value);
      const rel = typeof rv?.relname === 'string' ? rv.relname : null;
      if (rel !== null) found.add(typeof rv?.schemaname === 'string' ? `${rv.schemaname}.${rel}` : rel);
      continue;
    }
    if (key === 'CommonTableExpr') {
      const cte = asObject(value);
      if (typeof cte?.ctename === 'string') ctes.add(cte.ctename);
    }
    walk(value, found, ctes, depth + 1);
  }
}

/** relationsOfSql with a bounded cache by text. */
export class RelationsCache {
  private readonly cache = new LRUCache<string, readonly string[] | 'unknown'>({ max: CACHE_ENTRIES });

  of(sql: string): readonly string[] | null {
    const hit = this.cache.get(sql);
    if (hit !== undefined) return hit === 'unknown' ? null : hit;
    const r = relationsOfSql(sql);
    if (sql.length <= MAX_CACHED_SQL) this.cache.set(sql, r ?? 'unknown');
    return r;
  }
}

/**
 * The qualified names a relation may resolve to under `searchPath` (schemas in order; "$user" is
 * the session's user): a qualified name as written; an unqualified one in each schema of the path.
 * A read may go to a node only if none of them is a table that node does not replicate.
 */
export function candidateNames(relations: readonly string[], searchPath: readonly string[], user: string): string[] {
  const out: string[] = [];
  for (const r of relations) {
    if (r.includes('.')) {
      out.push(r);
      continue;
    }
    for (const s of searchPath) out.push(`${s === '$user' ? user : s}.${r}`);
  }
  return out;
}

const DEFAULT_SEARCH_PATH: readonly string[] = Object.freeze(['$user', 'public']);

/**
 * The schemas of a session's search_path from the SQL that set it (SET search_path = a, "B"; a
 * startup option's value), or PostgreSQL's default. Unquoted names fold to lower case.
 */
export function searchPathOf(setting: string | undefined): readonly string[] {
  if (setting === undefined) return DEFAULT_SEARCH_PATH;
  const m = /^\s*set\s+(?:session\s+)?search_path\s*(?:=|\s+to\s+)([\s\S]*)$/i.exec(setting);
  const value = (m !== null ? m[1]! : setting).trim().replace(/;$/, '');
  if (/^default$/i.test(value)) return DEFAULT_SEARCH_PATH;
  const out: string[] = [];
  for (const raw of value.split(',')) {
    const t = raw.trim();
    if (t === '') continue;
    if (t.startsWith('"') && t.endsWith('"') && t.length >= 2) out.push(t.slice(1, -1).replace(/""/g, '"'));
    else if (t.startsWith("'") && t.endsWith("'") && t.length >= 2) out.push(t.slice(1, -1).replace(/''/g, "'"));
    else out.push(t.toLowerCase());
  }
  return out.length === 0 ? DEFAULT_SEARCH_PATH : out;
}
