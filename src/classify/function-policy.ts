// Decides whether calling a function makes a statement a write. Order: configured overrides
// (routing.write_functions, routing.read_functions), then built-in knowledge (side effects,
// volatile-but-harmless, common immutable/stable built-ins), then the pg_proc catalog (qualified
// name, then bare name), else unknown — which the callers treat as a write.

import { BUILTIN_READ_FUNCTIONS, BUILTIN_SIDE_EFFECT_FREE_FUNCTIONS, BUILTIN_WRITE_FUNCTIONS } from './builtin-functions.js';
import type { VolatilityLookup } from './types.js';

export type FunctionVerdict = 'read' | 'write' | 'unknown';

/** The name after the last dot: pg_catalog.now → now. Quoted dots are not split (names come parsed). */
export function bareName(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot < 0 ? name : name.slice(dot + 1);
}

export class FunctionPolicy {
  readonly catalog: VolatilityLookup;
  private readonly writeFunctions: ReadonlySet<string>;
  private readonly readFunctions: ReadonlySet<string>;

  constructor(catalog: VolatilityLookup, writeFunctions: readonly string[] = [], readFunctions: readonly string[] = []) {
    this.catalog = catalog;
    this.writeFunctions = new Set(writeFunctions.map((f) => f.toLowerCase()));
    this.readFunctions = new Set(readFunctions.map((f) => f.toLowerCase()));
  }

  /** Whether this policy was built from these lists (case-insensitive, order and repeats aside). */
  hasLists(writeFunctions: readonly string[], readFunctions: readonly string[]): boolean {
    return sameSet(this.writeFunctions, writeFunctions) && sameSet(this.readFunctions, readFunctions);
  }

  /** Whether a call of `name` (lower-case unless quoted, optionally schema-qualified) reads, writes, or is unknown. */
  resolve(name: string): FunctionVerdict {
    const bare = bareName(name);
    if (this.writeFunctions.size > 0 || this.readFunctions.size > 0) {
      const lname = name.toLowerCase();
      const lbare = bare.toLowerCase();
      if (this.writeFunctions.has(lname) || this.writeFunctions.has(lbare)) return 'write';
      if (this.readFunctions.has(lname) || this.readFunctions.has(lbare)) return 'read';
    }
    const isBuiltinScope = bare.length === name.length || name.startsWith('pg_catalog.');
    if (isBuiltinScope) {
      if (BUILTIN_WRITE_FUNCTIONS.has(bare)) return 'write';
      if (BUILTIN_SIDE_EFFECT_FREE_FUNCTIONS.has(bare) || BUILTIN_READ_FUNCTIONS.has(bare)) return 'read';
    }
    let volatility = this.catalog.volatility(name);
    if (volatility === undefined && !isBuiltinScope) volatility = this.catalog.volatility(bare);
    if (volatility === undefined) return 'unknown';
    return volatility === 'volatile' ? 'write' : 'read';
  }

  /**
   * Whether a call of `name` (with its verdict from resolve) may change session state where the
   * classifier cannot see: any function that is not a read and not a built-in — one Meridian
   * knows (its effects, such as advisory locks and set_config, are read from the call itself) or
   * one the catalog lists in pg_catalog. User functions, procedures and extension functions count.
   */
  isOpaque(name: string, verdict: FunctionVerdict): boolean {
    if (verdict === 'read') return false;
    const bare = bareName(name);
    const isBuiltinScope = bare.length === name.length || name.startsWith('pg_catalog.');
    if (!isBuiltinScope) return true;
    if (BUILTIN_WRITE_FUNCTIONS.has(bare)) return false;
    return this.catalog.volatility(`pg_catalog.${bare}`) === undefined;
  }

  /** The reason a function made a statement a write. */
  reasonFor(name: string, verdict: FunctionVerdict): string {
    if (verdict === 'unknown') {
      return this.catalog.isLive ? `unknown function ${name} treated as write` : `unknown function ${name} treated as write (no live catalog)`;
    }
    return `volatile function ${name}`;
  }
}

function sameSet(set: ReadonlySet<string>, names: readonly string[]): boolean {
  const other = new Set(names.map((f) => f.toLowerCase()));
  if (other.size !== set.size) return false;
  for (const f of other) if (!set.has(f)) return false;
  return true;
}
