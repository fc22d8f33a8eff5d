// The classifier the proxy calls for every Query and Parse: SQL text → Classification.
// Three levels, cheapest first:
//   1. exact cache (LRU by text) — only texts without literals, so prepared statements and
//      parameterised queries stay cached while literal-heavy ad-hoc SQL cannot evict them;
//   2. the lexer fast path (fast-path.ts) — common shapes, ~1 µs; a result that no literal can
//      change (no effects, no transaction modes) is cached by the text with its literals masked
//      (literal-mask.ts), so pgbench-style SQL with fresh literals each time skips lexing;
//   3. PostgreSQL's parser (full-path.ts) — cached by exact text, or by *shape* (literals
//      replaced by ?) when the result cannot depend on a literal's value.
// Caches are dropped when the catalog's version moves, and when a reload changes the function
// lists (applyConfig). classify() is synchronous; await Classifier.init() (loads the WebAssembly
// parser) once at start-up.

import { LRUCache } from 'lru-cache';
import { asWrite, buildClassification, isTxMarker, unparsedClassification, withHint } from './build-classification.js';
import { VolatilityCatalog } from './catalog.js';
import { classifyFast } from './fast-path.js';
import { findHint } from './find-hint.js';
import { classifyFull } from './full-path.js';
import { FunctionPolicy } from './function-policy.js';
import { Lexer } from './lexer.js';
import { LiteralMask } from './literal-mask.js';
import { ensureParser, isParserReady } from './parser.js';
import type { StatementInfo } from './statement-info.js';
import type { Classification, VolatilityLookup } from './types.js';

export interface ClassifierOptions {
  readonly catalog: VolatilityLookup;
  readonly writeFunctions?: readonly string[]; // routing.write_functions
  readonly readFunctions?: readonly string[]; // routing.read_functions
  readonly cacheSize?: number; // entries in the exact cache; default 10000 (shape cache: half)
  readonly cacheMaxChars?: number; // total SQL characters kept by the exact cache; default 8 Mi
  readonly maxCachedLength?: number; // longer texts are never cached; default 64 Ki characters
  readonly maxParseBytes?: number; // longer texts are not lexed or parsed (limits.max_parse_bytes); default 1 MiB
}

/** The settings a reload may change (a MeridianConfig has them). */
export interface ClassifierSettings {
  readonly routing: { readonly writeFunctions: readonly string[]; readonly readFunctions: readonly string[] };
  readonly limits: { readonly maxParseBytes: number };
}

export interface ClassifierStats {
  exactHits: number;
  shapeHits: number;
  /** Literal-bearing texts answered by the masked-literal cache (no lexing). */
  maskHits: number;
  fastPath: number;
  fullParse: number;
}

export class Classifier {
  /** Loads PostgreSQL's parser (WebAssembly). Await once before the first classify(). */
  static async init(): Promise<void> {
    await ensureParser();
  }

  readonly stats: ClassifierStats = { exactHits: 0, shapeHits: 0, maskHits: 0, fastPath: 0, fullParse: 0 };
  private readonly catalog: VolatilityLookup;
  /** routing.write_functions / read_functions over the catalog: replaced whole on reload. */
  private policy: FunctionPolicy;
  private readonly lexer = new Lexer();
  private readonly exact: LRUCache<string, Classification>;
  private readonly shapes: LRUCache<string, Classification>;
  /** Literal-bearing texts whose result depends on a literal (SET, lock keys): a small LRU of their own. */
  private readonly adhoc: LRUCache<string, Classification>;
  /** Fast-path results no literal can change, by the hash of the text with its literals masked (literal-mask.ts). */
  private readonly masked: LRUCache<number, MaskedEntry>;
  private readonly mask = new LiteralMask();
  private readonly maxCachedLength: number;
  /** limits.max_parse_bytes: set again on reload. */
  private maxParseBytes: number;
  private catalogVersion: number;

  constructor(opts: ClassifierOptions) {
    this.catalog = opts.catalog;
    this.policy = new FunctionPolicy(opts.catalog, opts.writeFunctions, opts.readFunctions);
    const size = Math.max(16, opts.cacheSize ?? 10_000);
    const maxChars = opts.cacheMaxChars ?? 8 * 1024 * 1024;
    const sizeCalculation = (_: Classification, key: string): number => key.length + 64;
    this.exact = new LRUCache({ max: size, maxSize: maxChars, sizeCalculation });
    this.shapes = new LRUCache({ max: Math.max(16, size >> 1), maxSize: maxChars >> 1, sizeCalculation });
    this.adhoc = new LRUCache({ max: Math.max(16, size >> 3), maxSize: maxChars >> 3, sizeCalculation });
    this.masked = new LRUCache({ max: Math.max(16, size >> 1), maxSize: maxChars >> 1, sizeCalculation: (e: MaskedEntry) => e.sql.length + 64 });
    this.maxCachedLength = opts.maxCachedLength ?? 64 * 1024;
    this.maxParseBytes = opts.maxParseBytes ?? 1024 * 1024;
    this.catalogVersion = opts.catalog.version;
  }

  /**
   * A reload: new function lists take effect for the next statement (cached classifications
   * were decided under the old lists, so the caches go); limits.max_parse_bytes likewise.
   */
  applyConfig(next: ClassifierSettings): void {
    this.maxParseBytes = next.limits.maxParseBytes;
    const { writeFunctions, readFunctions } = next.routing;
    if (this.policy.hasLists(writeFunctions, readFunctions)) return;
    this.policy = new FunctionPolicy(this.catalog, writeFunctions, readFunctions);
    this.clearCache();
  }

  classify(sql: string): Classification {
    // PostgreSQL's parser runs synchronously (WebAssembly) and the lexer in JavaScript: a huge
    // statement would stall every session. A UTF-8 text has at most 3 bytes per UTF-16 unit.
    if (sql.length * 3 > this.maxParseBytes) {
      const bytes = Buffer.byteLength(sql);
      if (bytes > this.maxParseBytes) return unparsedClassification(bytes, this.maxParseBytes);
    }
    const version = this.catalog.version;
    if (version !== this.catalogVersion) this.clearCache(version);
    const cached = this.exact.get(sql) ?? this.adhoc.get(sql);
    if (cached !== undefined) {
      this.stats.exactHits++;
      return cached;
    }
    const mask = this.mask;
    const isMaskable = sql.length <= this.maxCachedLength && mask.scan(sql);
    if (isMaskable) {
      const hit = this.masked.get(mask.hash);
      // A hash collision is a miss (its entry is replaced): the texts themselves are compared.
      if (hit !== undefined && mask.matches(sql, hit.sql, hit.spans)) {
        this.stats.maskHits++;
        return hit.cls;
      }
    }
    return this.classifyMiss(sql, isMaskable);
  }

  /** Classifies without reading or filling any cache (fast path, then parser). */
  classifyUncached(sql: string): Classification {
    this.lexer.lex(sql);
    const hint = findHint(this.lexer);
    const fast = classifyFast(this.lexer, this.policy);
    return this.settingsSafe(buildClassification(fast ?? classifyFull(sql, this.policy, this.lexer), hint));
  }

  /** Classifies with the parser only, skipping the fast path (tests compare both; benchmarks). */
  classifyWithParser(sql: string): Classification {
    this.lexer.lex(sql);
    return this.settingsSafe(buildClassification(classifyFull(sql, this.policy, this.lexer), findHint(this.lexer)));
  }

  /** Loads pg_proc rows into the catalog when it is a VolatilityCatalog (caches drop on change). */
  replaceCatalogRows(rows: readonly unknown[]): void {
    if (this.catalog instanceof VolatilityCatalog) this.catalog.load(rows);
  }

  clearCache(version: number = this.catalog.version): void {
    this.exact.clear();
    this.shapes.clear();
    this.adhoc.clear();
    this.masked.clear();
    this.catalogVersion = version;
  }

  /** Entries held: exact (literal-free texts), shapes, adhoc, masked (literal-bearing fast-path texts). */
  cacheSizes(): { exact: number; shapes: number; adhoc: number; masked: number } {
    return { exact: this.exact.size, shapes: this.shapes.size, adhoc: this.adhoc.size, masked: this.masked.size };
  }

  /** `isMaskable`: this.mask holds the scan of `sql`, which has literals and may be cached by them. */
  private classifyMiss(sql: string, isMaskable: boolean): Classification {
    const lexer = this.lexer;
    lexer.lex(sql);
    const hint = findHint(lexer);
    const isCacheable = sql.length <= this.maxCachedLength;
    const fast = classifyFast(lexer, this.policy);
    if (fast !== null) {
      this.stats.fastPath++;
      const result = buildClassification(fast, hint);
      if (!lexer.hasLiterals && isCacheable) this.exact.set(sql, result);
      else if (isMaskable && !lexer.hasBackslashQuote && fast.every(isLiteralFree)) {
        this.masked.set(this.mask.hash, { sql, spans: this.mask.keepSpans(), cls: result });
      }
      return this.settingsSafe(result);
    }
    if (!isParserReady()) return buildClassification(classifyFull(sql, this.policy), hint); // never cached
    const shapeKey = lexer.hasLiterals && lexer.isComplete && isCacheable ? lexer.shapeKey() : null;
    if (shapeKey !== null) {
      const shaped = this.shapes.get(shapeKey);
      if (shaped !== undefined) {
        this.stats.shapeHits++;
        return this.settingsSafe(withHint(shaped, hint));
      }
    }
    this.stats.fullParse++;
    const infos = classifyFull(sql, this.policy, lexer);
    const result = buildClassification(infos, hint);
    if (isCacheable) {
      if (!lexer.hasLiterals) this.exact.set(sql, result);
      else if (shapeKey !== null && isShapeIndependent(infos)) this.shapes.set(shapeKey, withHint(result, null));
      else this.adhoc.set(sql, this.settingsSafe(result));
    }
    return this.settingsSafe(result);
  }

  /**
   * Both paths read strings as PostgreSQL does with standard_conforming_strings on (the default
   * since 9.1). A string ending in a backslash reads differently with it off, possibly hiding a
   * statement: such a text is never a read.
   */
  private settingsSafe(result: Classification): Classification {
    return this.lexer.hasBackslashQuote
      ? asWrite(result, 'backslash before a closing quote (ambiguous if standard_conforming_strings is off) → write')
      : result;
  }
}

/** A masked-literal cache entry: the text it was classified from, its literal spans, the answer. */
interface MaskedEntry {
  readonly sql: string;
  readonly spans: Int32Array;
  readonly cls: Classification;
}

/**
 * A fast-path statement whose classification no literal can change: no effects (a SET's value, a
 * lock key …), no transaction modes, nothing literal-sensitive (masked-literal cache).
 */
function isLiteralFree(info: StatementInfo): boolean {
  return info.effects.length === 0 && info.txAccess === null && !info.isLiteralSensitive && !info.isMeridianSetting && !info.isSerializable;
}

/**
 * No statement's result depends on a literal's value, and nothing carries per-text effects (the
 * transaction-order markers are the same for every text of a shape).
 */
function isShapeIndependent(infos: readonly StatementInfo[]): boolean {
  for (const info of infos) {
    if (info.isLiteralSensitive) return false;
    for (const e of info.effects) if (!isTxMarker(e)) return false;
  }
  return true;
}
