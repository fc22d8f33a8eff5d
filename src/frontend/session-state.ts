// What one client session has set up that a backend must reflect: settings (SET …), named
// prepared statements (protocol and SQL level), the unnamed statement, pins, and the session
// route hint. Pure bookkeeping: no sockets. `planSync` computes the SQL that brings a backend in
// line with the session (compare, don't replay blindly); `applyEffects` / `replayOrdered` record
// what the server accepted.

import { createHash } from 'node:crypto';
import type { Classification, PinKind, RouteHint, SessionEffect } from '../classify/types.js';
import type { Backend } from '../backend/backend.js';
import { backendStartup, settingSql, type BackendStartup } from '../backend/backend-startup.js';
import { TxStatus } from '../protocol/codes.js';
import { timingOf, TxEffects } from './tx-effects.js';

export interface StatementRecord {
  readonly clientName: string;
  readonly globalName: string;
  /** Parse frame under the global name (a private copy). */
  readonly parseFrame: Buffer;
  readonly cls: Classification;
}

export interface UnnamedRecord {
  readonly key: string;
  readonly parseFrame: Buffer;
  readonly cls: Classification;
}

export interface SqlStatement {
  readonly sql: string; // the PREPARE statement text
  readonly isWrite: boolean;
}

/**
 * The identity settings, in the order they are applied: after every other setting, which is
 * brought to a backend as its login role (a superuser-only one may not be set after SET ROLE).
 */
const IDENTITY = ['session_authorization', 'role'];

export function quoteLiteral(v: string): string {
  return `'${v.replace(/'/g, "''")}'`;
}

/** A name as an SQL identifier: double-quoted, inner quotes doubled (a client's statement names can hold anything). */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function resetSql(name: string): string {
  if (name === 'session_authorization') return 'SET SESSION AUTHORIZATION DEFAULT';
  if (name === 'role') return 'RESET ROLE';
  return `RESET ${quoteIdent(name)}`;
}

export class SessionState {
  readonly sessionId: number;
  /** Settings from the startup packet: the values RESET and DISCARD ALL return to. */
  readonly startupSettings: ReadonlyMap<string, string>;
  /** The same, as a backend is opened with them (session pooling). */
  readonly backendStartup: BackendStartup;
  /**
   * Session pooling: a backend this session synced last has served it alone since, so what the
   * client did there is the session's state as it is: nothing is replayed onto it.
   */
  isSessionPooled = false;
  settings: Map<string, string>;
  /** Bumped on every settings change; lets a backend skip the diff. */
  version = 0;
  readonly stmts = new Map<string, StatementRecord>();
  readonly sqlStmts = new Map<string, SqlStatement>();
  unnamed: UnnamedRecord | null = null;
  private unnamedSeq = 0;
  routeHint: RouteHint | null;
  localRouteHint: RouteHint | null = null;
  /** Read-your-writes for this session (SET meridian.read_your_writes); null: routing.read_your_writes. */
  readYourWrites: boolean | null = null;
  /** The startup option's value, which RESET meridian.read_your_writes returns to. */
  startupReadYourWrites: boolean | null = null;
  /**
   * A causal token the client presented (SET meridian.causal_token, the startup option): its
   * reads go to nodes known to have that write (the session checks and decodes it). Null: none.
   */
  causalToken: string | null = null;
  /** The startup option's token, which RESET meridian.causal_token returns to. */
  startupCausalToken: string | null = null;
  readonly tempTables = new Set<string>();
  readonly advisoryLocks = new Map<string, number>();
  readonly listens = new Set<string>();
  readonly cursors = new Set<string>();
  /** Something unreplayable (set_config(…, false)) happened: stay on this backend. */
  hasOpaqueState = false;
  /** Effects of statements inside an open transaction block that ROLLBACK [TO] would undo. */
  readonly tx = new TxEffects();

  constructor(sessionId: number, startup: ReadonlyMap<string, string>, routeHint: RouteHint | null) {
    this.sessionId = sessionId;
    const init = new Map<string, string>();
    for (const [k, v] of startup) init.set(k, settingSql(k, v));
    this.startupSettings = init;
    this.backendStartup = backendStartup(startup);
    this.settings = new Map(init);
    this.routeHint = routeHint;
  }

  get isPinned(): boolean {
    return this.tempTables.size > 0 || this.advisoryLocks.size > 0 || this.listens.size > 0 || this.cursors.size > 0 || this.hasOpaqueState;
  }

  pinReasons(): string[] {
    const r: string[] = [];
    if (this.tempTables.size) r.push('temp-table');
    if (this.advisoryLocks.size) r.push('advisory-lock');
    if (this.listens.size) r.push('listen');
    if (this.cursors.size) r.push('cursor');
    if (this.hasOpaqueState) r.push('opaque-state');
    return r;
  }

  /** Records a named Parse; the global name depends only on the SQL and parameter types. */
  registerStatement(clientName: string, buf: Buffer, start: number, end: number, nameEnd: number, cls: Classification): StatementRecord {
    const globalName =
      'mrd_' +
      createHash('sha1')
        .update(buf.subarray(nameEnd + 1, end))
        .digest('hex')
        .slice(0, 24);
    const prev = this.stmts.get(clientName);
    if (prev !== undefined && prev.globalName === globalName) return prev;
    const gl = Buffer.byteLength(globalName);
    const tail = end - (nameEnd + 1);
    const frame = Buffer.allocUnsafe(1 + 4 + gl + 1 + tail);
    frame[0] = buf[start]!;
    frame.writeInt32BE(4 + gl + 1 + tail, 1);
    frame.write(globalName, 5, 'latin1');
    frame[5 + gl] = 0;
    buf.copy(frame, 6 + gl, nameEnd + 1, end);
    const rec: StatementRecord = { clientName, globalName, parseFrame: frame, cls };
    this.stmts.set(clientName, rec);
    return rec;
  }

  /** Records the unnamed statement; returns its identity key. */
  registerUnnamed(buf: Buffer, start: number, end: number, cls: Classification): string {
    const key = `${this.sessionId}:${++this.unnamedSeq}`;
    this.unnamed = { key, parseFrame: Buffer.from(buf.subarray(start, end)), cls };
    return key;
  }

  /**
   * SQL to run on `b` before this session's next request there, or null when it already matches.
   * `needSql` lists SQL-level prepared statement names the request EXECUTEs; `willPrepare` the
   * names it PREPAREs (a stale one of another session must go first).
   */
  planSync(b: Backend, needSql: readonly string[] | null, willPrepare: readonly string[] | null): string | null {
    const parts: string[] = [];
    let settingsMatch =
      (this.isSessionPooled && b.syncedSessionId === this.sessionId) ||
      (!b.isStateUncertain && b.syncedSessionId === this.sessionId && b.syncedStateVersion === this.version);
    if (!settingsMatch && !b.isStateUncertain && b.settingsSignature !== null && b.settingsSignature === this.signature()) {
      // Another session left exactly these settings (the common case: same driver, same app).
      b.syncedSessionId = this.sessionId;
      b.syncedStateVersion = this.version;
      settingsMatch = true;
    }
    if (!settingsMatch) {
      this.planSettings(b, parts);
      if (parts.length === 0) {
        b.syncedSessionId = this.sessionId; // in line already: no diff until either side changes
        b.syncedStateVersion = this.version;
      }
    }
    // SQL-level statements the request EXECUTEs, PREPAREs again or DEALLOCATEs: the session's own
    // must be on this backend (EXECUTE runs it, a second PREPARE fails with 42P05, DEALLOCATE drops
    // it), another session's must not (dropped: EXECUTE and DEALLOCATE fail with 26000 and PREPARE
    // succeeds, as on a server of the session's own).
    if (needSql !== null) for (const name of needSql) this.planSqlStatement(b, name, parts);
    if (willPrepare !== null) for (const name of willPrepare) this.planSqlStatement(b, name, parts);
    return parts.length === 0 ? null : parts.join('; ');
  }

  /** Brings `name` on `b` in line with this session's statement of that name (or its absence). */
  planSqlStatement(b: Backend, name: string, parts: string[]): void {
    const st = this.sqlStmts.get(name);
    const there = b.sqlPrepared.get(name);
    if (there === st?.sql) return;
    if (there !== undefined) parts.push(`DEALLOCATE ${quoteIdent(name)}`);
    if (st !== undefined) parts.push(st.sql);
  }

  /**
   * The settings part of planSync. Every setting is brought as the backend's login role, then
   * SET SESSION AUTHORIZATION, then SET ROLE: a setting only a superuser may change (set before
   * the client changed its role) cannot be applied after them.
   */
  private planSettings(b: Backend, parts: string[]): void {
    let have: ReadonlyMap<string, string> = b.settings;
    if (b.isStateUncertain) {
      // RESET ALL returns to the backend's own startup settings; identity is not part of ALL.
      parts.push('RESET ROLE', 'SET SESSION AUTHORIZATION DEFAULT', 'RESET ALL');
      const books = new Map<string, string>();
      for (const [k, v] of b.startup.params) books.set(k, settingSql(k, v));
      have = books;
    }
    const others: string[] = [];
    for (const name of have.keys()) if (!IDENTITY.includes(name) && !this.settings.has(name)) others.push(resetSql(name));
    for (const [name, sql] of this.settings) if (!IDENTITY.includes(name) && have.get(name) !== sql) others.push(sql);
    const identityDiffers = IDENTITY.some((n) => have.get(n) !== this.settings.get(n));
    const hasIdentity = IDENTITY.some((n) => have.has(n));
    if (hasIdentity && (others.length > 0 || identityDiffers)) parts.push('RESET ROLE', 'SET SESSION AUTHORIZATION DEFAULT');
    parts.push(...others);
    if (identityDiffers || (hasIdentity && others.length > 0)) {
      for (const n of IDENTITY) {
        const sql = this.settings.get(n);
        if (sql !== undefined) parts.push(sql);
      }
    }
  }

  private sigVersion = -1;
  private sig = '';

  private serializableVersion = -1;
  private isSerializable = false;

  /**
   * The session's default isolation is SERIALIZABLE as far as Meridian saw it (startup option,
   * SET default_transaction_isolation, SET SESSION CHARACTERISTICS). Hot standbys refuse every
   * transaction then, implicit ones included. The word anywhere in the replay SQL counts: a
   * false positive only sends reads to a master. A default set on the server (ALTER ROLE …
   * SET) is invisible here.
   */
  get defaultsToSerializable(): boolean {
    if (this.serializableVersion !== this.version) {
      const sql = this.settings.get('default_transaction_isolation');
      this.isSerializable = sql !== undefined && /serializable/i.test(sql);
      this.serializableVersion = this.version;
    }
    return this.isSerializable;
  }

  /** The settings as one comparable string, recomputed once per version. */
  signature(): string {
    if (this.sigVersion !== this.version) {
      let out = '';
      for (const [k, v] of [...this.settings].sort((a, b) => (a[0] < b[0] ? -1 : 1))) out += `${k}\u0000${v}\u0001`;
      this.sig = out;
      this.sigVersion = this.version;
    }
    return this.sig;
  }

  /** After the sync SQL succeeded on `b`: record that it now matches the session. */
  markSynced(b: Backend, needSql: readonly string[] | null, willPrepare: readonly string[] | null): void {
    b.isStateUncertain = false;
    b.settings.clear();
    for (const [k, v] of this.settings) b.settings.set(k, v);
    b.syncedSessionId = this.sessionId;
    b.syncedStateVersion = this.version;
    b.settingsSignature = this.signature();
    for (const names of [needSql, willPrepare]) {
      if (names === null) continue;
      for (const name of names) {
        const st = this.sqlStmts.get(name);
        if (st !== undefined) b.sqlPrepared.set(name, st.sql);
        else b.sqlPrepared.delete(name);
      }
    }
  }

  /**
   * The session set synchronous_commit to something other than remote_apply (SET, or a startup
   * option): its commits may be acknowledged before a synchronous standby applied them.
   */
  lowersSyncCommit(): boolean {
    const sql = this.settings.get('synchronous_commit');
    return sql !== undefined && !/remote_apply/i.test(sql);
  }

  /**
   * SET / RESET of one of Meridian's own settings (meridian.route, meridian.read_your_writes,
   * meridian.causal_token), or SHOW of one (nothing to change); false for any other effect. A refused value (22023, SET LOCAL meridian.read_your_writes)
   * changes nothing.
   */
  applyMeridianSetting(e: SessionEffect): boolean {
    if (e.type === 'route-hint') {
      if (e.invalidValue !== undefined) return true;
      if (e.isLocal) this.localRouteHint = e.hint;
      else this.routeHint = e.hint;
      return true;
    }
    if (e.type === 'causal-token') {
      if (!e.isLocal) this.causalToken = e.token === null ? this.startupCausalToken : e.token.trim() === '' ? null : e.token.trim();
      return true;
    }
    if (e.type === 'show-meridian') return true;
    if (e.type !== 'read-your-writes') return false;
    if (e.invalidValue === undefined && !e.isLocal) this.readYourWrites = e.on ?? this.startupReadYourWrites;
    return true;
  }

  /**
   * Applies effects of statements the server completed in a request that neither opened nor ended
   * a transaction block (those are replayed in order: replayOrdered). `inTxBlock`: the
   * ReadyForQuery status after them is not idle. Returns true when the catalog changed.
   */
  applyEffects(effects: readonly SessionEffect[], b: Backend, inTxBlock: boolean): boolean {
    let catalogChanged = effects.length > 0 && this.record(effects, b, false);
    // Outside a block after this request (autocommit): what survived its savepoints holds.
    if (!inTxBlock && !this.tx.isEmpty) catalogChanged = this.applyNow(this.tx.commit(), b) || catalogChanged;
    return catalogChanged;
  }

  /**
   * Replays a request whose statements carry transaction order (Classification.ordered), one
   * statement (`segments[i]`) at a time, as PostgreSQL runs them: several statements outside a
   * block run in an implicit block (`isImplicit`) that a BEGIN turns into a real one, that a
   * COMMIT / ROLLBACK closes (the statements after it start a new one), and that ends with the
   * request (committed, or rolled back on an error); COMMIT of an aborted block rolls back; AND
   * CHAIN opens the next block at once. `failedAt`: the statement that failed (it and those after
   * it did not run; its pins are kept anyway, over-pinning is safe), or -1. `inTxAfter`: the
   * server's status says a block is open after the request; a disagreement marks the backend's
   * state uncertain. Returns true when the catalog changed.
   */
  replayOrdered(
    segments: readonly (readonly SessionEffect[])[],
    failedAt: number,
    start: { inBlock: boolean; isAborted: boolean; isImplicit: boolean },
    inTxAfter: boolean,
    b: Backend,
  ): boolean {
    const NONE = 0,
      IMPLICIT = 1,
      EXPLICIT = 2;
    let block = start.inBlock ? EXPLICIT : start.isImplicit ? IMPLICIT : NONE;
    let isAborted = start.inBlock && start.isAborted;
    let catalogChanged = false;
    const n = failedAt < 0 ? segments.length : Math.min(failedAt, segments.length);
    for (let i = 0; i < n; i++) {
      for (const e of segments[i] as readonly SessionEffect[]) {
        switch (e.type) {
          case 'statement-end':
            break;
          case 'tx-begin':
            block = EXPLICIT; // BEGIN inside a block only warns
            break;
          case 'tx-end':
            if (block === NONE) break; // "there is no transaction in progress": a warning
            if (e.end === 'rollback' || isAborted) this.tx.rollback();
            else catalogChanged = this.applyNow(this.tx.commit(), b) || catalogChanged; // COMMIT, PREPARE TRANSACTION
            this.localRouteHint = null;
            block = e.chain ? EXPLICIT : start.isImplicit ? IMPLICIT : NONE;
            isAborted = false;
            break;
          default:
            catalogChanged = this.record([e], b, false) || catalogChanged;
        }
      }
      if (block === NONE && !this.tx.isEmpty) catalogChanged = this.applyNow(this.tx.commit(), b) || catalogChanged; // autocommit
    }
    if (failedAt >= 0) {
      for (const e of segments[failedAt] ?? []) {
        if (e.type === 'pin') this.applyPin(e.pin, e.key);
        else if (e.type === 'state-unknown') b.isStateUncertain = true;
      }
      // An implicit block is rolled back by the error; so is an explicit one whose COMMIT failed
      // (a deferred constraint): the server is idle after it.
      if (block === IMPLICIT || (block === EXPLICIT && !inTxAfter)) {
        this.tx.rollback();
        block = NONE;
      }
    } else if (block === IMPLICIT) {
      catalogChanged = this.applyNow(this.tx.commit(), b) || catalogChanged;
      block = NONE;
    }
    if (block === NONE) this.localRouteHint = null;
    if ((block === EXPLICIT) !== inTxAfter) {
      // Meridian's reading of the request disagrees with the server: keep what is certain.
      b.isStateUncertain = true;
      if (!inTxAfter) this.tx.rollback();
    }
    return catalogChanged;
  }

  /**
   * A request failed; `effects` are those of its completed statements (for a simple Query, of
   * all its statements). The server's settings are uncertain; pins may have happened before the
   * error. Inside a transaction block (aborted now, until ROLLBACK [TO]) the savepoints and
   * pending effects are recorded too: a client's ROLLBACK TO names the savepoint it declared in
   * the failed request (JDBC autosave), and what ran before that savepoint survives it.
   */
  onFailedWithEffects(effects: readonly SessionEffect[], b: Backend): void {
    for (const e of effects) {
      if (e.type === 'set' || e.type === 'reset' || e.type === 'reset-all') b.isStateUncertain = true;
    }
    if (b.txStatus !== TxStatus.Idle) {
      this.record(effects, b, true);
      return;
    }
    for (const e of effects) if (e.type === 'pin') this.applyPin(e.pin, e.key); // over-pinning is safe
  }

  /**
   * Effects of statements run in a transaction block (or in autocommit, committed by the caller):
   * `now` ones applied at once, others recorded in `tx`. `hasFailed`: the request failed, so of
   * the `now` ones only pins are applied (over-pinning is safe; an unrecorded unpin only keeps a pin).
   */
  private record(effects: readonly SessionEffect[], b: Backend, hasFailed: boolean): boolean {
    let now: SessionEffect[] | null = null;
    for (const e of effects) {
      // ROLLBACK TO / RELEASE of an unknown savepoint is what failed (3B001), not a lost track.
      if (hasFailed && (e.type === 'rollback-to' || e.type === 'release') && !this.tx.hasSavepoint(e.name)) continue;
      const timing = timingOf(e);
      if (timing !== 'now' && !this.tx.record(e)) b.isStateUncertain = true;
      if (timing === 'at-commit' || (hasFailed && e.type !== 'pin')) continue;
      (now ??= []).push(e);
    }
    return now !== null && this.applyNow(now, b);
  }

  private applyNow(effects: readonly SessionEffect[], b: Backend): boolean {
    let catalogChanged = false;
    let settingsChanged = false;
    /** A RESET took the backend to its startup value where the session's differs: sync again. */
    let isBehind = false;
    for (const e of effects) {
      switch (e.type) {
        case 'set':
          this.settings.set(e.name, e.sql);
          b.settings.set(e.name, e.sql);
          settingsChanged = true;
          break;
        case 'reset': {
          const startup = this.startupSettings.get(e.name);
          if (startup !== undefined) this.settings.set(e.name, startup);
          else this.settings.delete(e.name);
          // The backend went to its own startup value (or its default).
          const there = b.startup.params.get(e.name);
          if (there !== undefined) b.settings.set(e.name, settingSql(e.name, there));
          else b.settings.delete(e.name);
          if (b.settings.get(e.name) !== startup) isBehind = true;
          settingsChanged = true;
          break;
        }
        case 'reset-all': {
          // RESET ALL leaves SET ROLE and SET SESSION AUTHORIZATION in place (GUC_NO_RESET_ALL).
          const kept = IDENTITY.flatMap((k) => (this.settings.has(k) ? [[k, this.settings.get(k)!] as const] : []));
          this.settings = new Map([...this.startupSettings, ...kept]);
          b.settings.clear();
          for (const [k, v] of b.startup.params) b.settings.set(k, settingSql(k, v));
          for (const [k, v] of kept) b.settings.set(k, v);
          isBehind ||= b.startup.key !== this.backendStartup.key;
          settingsChanged = true;
          break;
        }
        case 'discard-all':
          isBehind ||= b.startup.key !== this.backendStartup.key;
          this.settings = new Map(this.startupSettings);
          this.stmts.clear();
          this.sqlStmts.clear();
          this.unnamed = null;
          this.tempTables.clear();
          this.advisoryLocks.clear();
          this.listens.clear();
          this.cursors.clear();
          this.hasOpaqueState = false;
          b.forgetSessionState();
          settingsChanged = true;
          break;
        case 'route-hint':
        case 'read-your-writes':
        case 'causal-token':
          this.applyMeridianSetting(e);
          break;
        case 'prepare':
          this.sqlStmts.set(e.name, { sql: e.sql, isWrite: e.bodyIsWrite ?? true });
          b.sqlPrepared.set(e.name, e.sql);
          break;
        case 'deallocate':
          if (e.name === null) {
            this.sqlStmts.clear();
            this.stmts.clear();
            b.sqlPrepared.clear();
            b.prepared.clear();
          } else {
            this.sqlStmts.delete(e.name);
            this.stmts.delete(e.name); // a protocol-level one (see ensureDeallocatable)
            b.sqlPrepared.delete(e.name);
          }
          break;
        case 'execute':
        case 'savepoint':
        case 'release':
        case 'rollback-to':
          break;
        case 'pin':
          this.applyPin(e.pin, e.key);
          break;
        case 'unpin':
          this.applyUnpin(e.pin, e.key);
          break;
        case 'catalog-changed':
          catalogChanged = true;
          break;
        case 'state-unknown':
          this.hasOpaqueState = true;
          b.isStateUncertain = true;
          break;
      }
    }
    if (settingsChanged) {
      this.version++;
      b.syncedSessionId = this.sessionId;
      // A RESET on a backend opened without this session's startup settings (transaction
      // pooling) left the server's value: the next request brings the session's back.
      b.syncedStateVersion = isBehind ? -1 : this.version;
      b.settingsSignature = null; // b.settings may differ from ours (RESET goes to the backend's default)
    }
    return catalogChanged;
  }

  private setFor(kind: PinKind): Set<string> | null {
    return kind === 'temp-table' ? this.tempTables : kind === 'listen' ? this.listens : kind === 'cursor' ? this.cursors : null;
  }

  private applyPin(kind: PinKind, key: string): void {
    if (kind === 'advisory-lock') {
      this.advisoryLocks.set(key, (this.advisoryLocks.get(key) ?? 0) + 1);
      return;
    }
    this.setFor(kind)!.add(key);
  }

  private applyUnpin(kind: PinKind, key: string | null): void {
    if (kind === 'advisory-lock') {
      if (key === null) this.advisoryLocks.clear();
      else {
        const n = (this.advisoryLocks.get(key) ?? 0) - 1;
        if (n > 0) this.advisoryLocks.set(key, n);
        else this.advisoryLocks.delete(key);
      }
      return;
    }
    const set = this.setFor(kind)!;
    if (key === null) set.clear();
    else set.delete(key);
  }
}
