// What the classifier tells the router and the session about one request (a simple Query with
// one or more statements, or the SQL of one extended-protocol Parse). Types only.

/** The class of a request. Multi-statement requests take the strongest (write > read). */
export type StatementClass =
  | 'read' // may run on any eligible node
  | 'write' // must run on a master
  | 'tx-begin' // BEGIN / START TRANSACTION (see readOnly)
  | 'tx-end' // COMMIT / END / ROLLBACK / PREPARE TRANSACTION / COMMIT|ROLLBACK PREPARED
  | 'tx-control' // SAVEPOINT / RELEASE / ROLLBACK TO (each with an effect) / SET TRANSACTION
  | 'session'; // SET / RESET / DISCARD / PREPARE / EXECUTE / DEALLOCATE / LISTEN … (see effects)

export type RouteHint = { readonly route: 'master' } | { readonly route: 'replica' } | { readonly node: string };

export type PinKind = 'temp-table' | 'advisory-lock' | 'listen' | 'cursor';

/**
 * Side effects on session state, in statement order. The session applies them only after the
 * server accepted the statement (CommandComplete, then ReadyForQuery).
 */
export type SessionEffect =
  | { readonly type: 'set'; readonly name: string; readonly sql: string } // SET name …  (not LOCAL); name lower-cased; sql replays it
  | { readonly type: 'reset'; readonly name: string } // RESET name / SET name TO DEFAULT
  | { readonly type: 'reset-all' } // RESET ALL
  | { readonly type: 'discard-all' } // DISCARD ALL
  | { readonly type: 'route-hint'; readonly hint: RouteHint | null; readonly isLocal: boolean; readonly invalidValue?: string } // SET [LOCAL] meridian.route = … / RESET meridian.route (consumed, never sent); invalidValue: not master|replica|node=NAME|default → answer 22023, keep the old hint
  | { readonly type: 'read-your-writes'; readonly on: boolean | null; readonly isLocal: boolean; readonly invalidValue?: string } // SET meridian.read_your_writes = on|off / RESET (null: back to the startup option or routing.read_your_writes; consumed, never sent); LOCAL is refused
  | { readonly type: 'causal-token'; readonly token: string | null; readonly isLocal: boolean } // SET meridian.causal_token = '…' / RESET (consumed, never sent; the token is checked when applied: 22023); LOCAL is refused
  | { readonly type: 'show-meridian'; readonly name: string } // SHOW meridian.route | meridian.read_your_writes | meridian.causal_token: answered by Meridian
  | { readonly type: 'prepare'; readonly name: string; readonly sql: string; readonly bodyIsWrite?: boolean; readonly bodyEffects?: readonly SessionEffect[] } // SQL-level PREPARE name AS …; sql is the whole PREPARE statement; bodyIsWrite: class of the body (EXECUTE routes by it); bodyEffects: effects each EXECUTE has (e.g. advisory-lock pin), absent when none
  | { readonly type: 'deallocate'; readonly name: string | null } // DEALLOCATE name | ALL (null)
  | { readonly type: 'execute'; readonly name: string } // SQL-level EXECUTE name
  | { readonly type: 'pin'; readonly pin: PinKind; readonly key: string } // temp table name, lock key, channel, cursor name
  | { readonly type: 'unpin'; readonly pin: PinKind; readonly key: string | null } // null: all of that kind (UNLISTEN *, CLOSE ALL, pg_advisory_unlock_all, DISCARD TEMP)
  | { readonly type: 'savepoint'; readonly name: string } // SAVEPOINT name (as PostgreSQL folds it: unquoted lower-cased)
  | { readonly type: 'release'; readonly name: string } // RELEASE [SAVEPOINT] name
  | { readonly type: 'rollback-to'; readonly name: string } // ROLLBACK [WORK | TRANSACTION] TO [SAVEPOINT] name
  | { readonly type: 'catalog-changed' } // CREATE/ALTER/DROP FUNCTION|PROCEDURE: refresh volatility
  | { readonly type: 'state-unknown' } // session state changed in a way Meridian cannot replay (set_config(…, false), SET SESSION AUTHORIZATION …)
  // Transaction order (only in `ordered` classifications):
  | { readonly type: 'tx-begin' } // BEGIN / START TRANSACTION
  | { readonly type: 'tx-end'; readonly end: 'commit' | 'rollback' | 'prepare'; readonly chain: boolean } // COMMIT / END, ROLLBACK / ABORT, PREPARE TRANSACTION [AND [NO] CHAIN]
  | { readonly type: 'statement-end' }; // boundary after each statement of a multi-statement request

export interface Classification {
  readonly class: StatementClass; // strongest over all statements
  readonly isWrite: boolean; // true → must go to a master (write, tx-begin without READ ONLY or with SERIALIZABLE, what a hot standby refuses, pin-creating, unknown)
  readonly readOnly: boolean; // the first statement opens or sets a read-only transaction: BEGIN READ ONLY, START TRANSACTION READ ONLY, SET TRANSACTION READ ONLY, or BEGIN followed by SET TRANSACTION READ ONLY (tx-modes.ts)
  readonly hint: RouteHint | null; // from a leading comment; wins over the class
  readonly effects: readonly SessionEffect[]; // [] (a shared frozen array) for the common case
  readonly functions: readonly string[]; // function names called (lower-case, schema-qualified when written so)
  readonly statements: number; // number of statements in the request
  /**
   * effects carry transaction order (tx-begin / tx-end, and statement-end after each statement
   * when there are several): the session replays them statement by statement (session-state.ts
   * replayOrdered). False for a statement, or several, that neither begins nor ends a block and
   * (several) has no effect.
   */
  readonly ordered: boolean;
  readonly onlyMeridianSettings: boolean; // every statement is SET/RESET meridian.*: answer locally, send nothing
  /**
   * A statement runs code Meridian cannot see into (DO, CALL, a volatile function that is not a
   * built-in): it may set_config, SET ROLE through EXECUTE, create temp tables, take advisory
   * locks or LISTEN. The backend is reset before another session uses it (backend/pool.ts).
   */
  readonly resetsBackend: boolean;
  /**
   * One plain DML statement (INSERT, UPDATE, DELETE, MERGE, COPY FROM): a read-only server refuses
   * it at executor start, before evaluating any of it (functions included), so a 25006 for it is
   * safe to retry elsewhere (frontend refused-retry).
   */
  readonly isPlainDml: boolean;
  readonly reason: string; // short human reason: "select", "writable CTE", "volatile function f", "parse error → write"
}

export type Volatility = 'immutable' | 'stable' | 'volatile';

/** Function volatility as known to Meridian (pg_proc + configured overrides). */
export interface VolatilityLookup {
  /** undefined: unknown function (treated as a write). Name lower-case, optionally schema-qualified. */
  volatility(name: string): Volatility | undefined;
  /** Bumped on every change so cached classifications can be dropped. */
  readonly version: number;
  /** False when no live catalog was ever loaded (CLI use): reasons say so. */
  readonly isLive: boolean;
}
