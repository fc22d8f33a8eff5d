// SessionState's transaction policy without sockets: requests are classified for real, and the
// server's answer (ReadyForQuery status, error) is given by each step, and settleRequest
// (request-end.ts, what finishRequest calls) applies it. What the session keeps for replay on other
// backends must match what PostgreSQL keeps: SETs undone by ROLLBACK [TO SAVEPOINT] never stick.

import { beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../../src/backend/backend.js';
import { NO_STARTUP, backendStartup, startupBooks } from '../../../src/backend/backend-startup.js';
import { VolatilityCatalog } from '../../../src/classify/catalog.js';
import { Classifier } from '../../../src/classify/classifier.js';
import type { Classification } from '../../../src/classify/types.js';
import { settleRequest } from '../../../src/frontend/request-end.js';
import { SessionState } from '../../../src/frontend/session-state.js';

let classifier: Classifier;

beforeAll(async () => {
  await Classifier.init();
  classifier = new Classifier({ catalog: new VolatilityCatalog() });
});

type Status = 'I' | 'T' | 'E';

/** The fields of Backend that SessionState reads and writes. */
function fakeBackend(): Backend {
  const b = {
    txStatus: 0x49,
    settings: new Map<string, string>(),
    sqlPrepared: new Map<string, string>(),
    prepared: new Map<string, true>(),
    isStateUncertain: false,
    settingsSignature: null as string | null,
    syncedSessionId: 0,
    syncedStateVersion: -1,
    unnamedKey: null as string | null,
    startup: NO_STARTUP,
    forgetSessionState(): void {
      startupBooks(b.startup, b.settings);
      b.sqlPrepared.clear();
      b.prepared.clear();
    },
  };
  return b as unknown as Backend;
}

/** One client session on one backend; each call is one simple Query and the server's answer. */
class Driver {
  readonly state = new SessionState(1, new Map([['application_name', 'unit']]), null);
  readonly b = fakeBackend();
  private wasInTx = false;
  private wasInFailedTx = false;

  /** A simple Query the server completed (`_tag`: its last CommandComplete tag, for the reader). */
  ok(sql: string, status: Status, _tag = ''): this {
    const c = classifier.classify(sql);
    return this.finish([c], c, c.statements, status, false);
  }

  /**
   * A request that failed (ErrorResponse) at the last statement of `sql`, sent the way the
   * extended protocol does (one Execute each, so one classification each): the statements
   * before it completed. '' for a request with no statement of interest.
   */
  fail(sql: string, status: Status, _tag = ''): this {
    const done =
      sql === ''
        ? []
        : sql
            .split(';')
            .slice(0, -1)
            .map((x) => classifier.classify(x));
    return this.finish(done, null, 0, status, true);
  }

  /** Calls what finishRequest (request-end.ts) calls. */
  private finish(done: readonly Classification[], query: Classification | null, statementsDone: number, status: Status, failed: boolean): this {
    this.b.txStatus = status.charCodeAt(0);
    const inTx = status !== 'I';
    const withEffects = done.filter((c) => c.effects.length > 0);
    if (withEffects.length > 0 || (this.wasInTx && !inTx)) {
      settleRequest(this.state, this.b, { done: withEffects, query, wasInTx: this.wasInTx, wasInFailedTx: this.wasInFailedTx, failed, statementsDone }, inTx);
    }
    this.wasInTx = inTx;
    this.wasInFailedTx = status === 'E';
    return this;
  }

  /** Tracked settings other than the startup ones: name → value text of the SET. */
  settings(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, v] of this.state.settings) if (k !== 'application_name') out[k] = v.replace(/^SET \S+ = /i, '');
    return out;
  }
}

describe('SessionState: settings and savepoints', () => {
  it('regression: a SET undone by ROLLBACK TO SAVEPOINT does not stick (one Query)', () => {
    const d = new Driver().ok(`begin; savepoint s; set timezone = 'Asia/Tokyo'; rollback to savepoint s; commit`, 'I', 'COMMIT');
    expect(d.settings()).toEqual({});
    expect(d.state.tx.isEmpty).toBe(true);
  });

  it('regression: a SET undone by ROLLBACK TO SAVEPOINT does not stick (one statement per request)', () => {
    const d = new Driver().ok('begin', 'T').ok('savepoint s', 'T').ok(`set timezone = 'Asia/Tokyo'`, 'T').ok('rollback to savepoint s', 'T');
    expect(d.state.tx.pendingEffects()).toEqual([]);
    d.ok('commit', 'I', 'COMMIT');
    expect(d.settings()).toEqual({});
    expect(d.b.settings.has('timezone')).toBe(false);
  });

  it('a SET before the savepoint, and one after ROLLBACK TO, are committed', () => {
    const d = new Driver()
      .ok('begin', 'T')
      .ok('set work_mem = 1000', 'T')
      .ok('savepoint s', 'T')
      .ok('set work_mem = 2000', 'T')
      .ok('rollback to s', 'T')
      .ok('set search_path = a', 'T')
      .ok('commit', 'I', 'COMMIT');
    expect(d.settings()).toEqual({ work_mem: '1000', search_path: 'a' });
    expect(d.b.settings.get('work_mem')).toBe('set work_mem = 1000');
  });

  it('nested savepoints: ROLLBACK TO the inner one keeps the outer changes; to the outer one drops both', () => {
    const d = new Driver()
      .ok('begin', 'T')
      .ok('savepoint s1', 'T')
      .ok('set work_mem = 1', 'T')
      .ok('savepoint s2', 'T')
      .ok('set search_path = b', 'T')
      .ok('rollback to savepoint s2', 'T');
    expect(d.state.tx.savepointNames()).toEqual(['s1', 's2']);
    d.ok('commit', 'I', 'COMMIT');
    expect(d.settings()).toEqual({ work_mem: '1' });
    d.ok('begin', 'T').ok('savepoint s1', 'T').ok('set search_path = c', 'T').ok('savepoint s2', 'T').ok('set work_mem = 2', 'T').ok('rollback to s1', 'T');
    expect(d.state.tx.savepointNames()).toEqual(['s1']);
    // s2 is destroyed: ROLLBACK TO it fails on the server (3B001) and changes nothing.
    d.fail('rollback to s2', 'E').ok('rollback to s1', 'T').ok('commit', 'I', 'COMMIT');
    expect(d.settings()).toEqual({ work_mem: '1' });
  });

  it('RELEASE keeps the released savepoint’s changes (until an enclosing ROLLBACK TO)', () => {
    const d = new Driver()
      .ok('begin', 'T')
      .ok('savepoint s1', 'T')
      .ok('savepoint s2', 'T')
      .ok('set work_mem = 5', 'T')
      .ok('release savepoint s2', 'T')
      .ok('commit', 'I', 'COMMIT');
    expect(d.settings()).toEqual({ work_mem: '5' });
    d.ok('begin', 'T')
      .ok('savepoint s1', 'T')
      .ok('savepoint s2', 'T')
      .ok('set search_path = x', 'T')
      .ok('release s2', 'T')
      .ok('rollback to s1', 'T')
      .ok('commit', 'I', 'COMMIT');
    expect(d.settings()).toEqual({ work_mem: '5' });
  });

  it('a name declared again: ROLLBACK TO acts on the newest, which stays; after RELEASE, the older one', () => {
    const d = new Driver()
      .ok('begin', 'T')
      .ok('savepoint s', 'T')
      .ok('set work_mem = 1', 'T')
      .ok('savepoint s', 'T')
      .ok('set search_path = b', 'T')
      .ok('rollback to s', 'T')
      .ok('set search_path = c', 'T')
      .ok('rollback to s', 'T');
    expect(d.state.tx.savepointNames()).toEqual(['s', 's']);
    d.ok('commit', 'I', 'COMMIT');
    expect(d.settings()).toEqual({ work_mem: '1' });
    d.ok('begin', 'T')
      .ok('savepoint s', 'T')
      .ok('set search_path = d', 'T')
      .ok('savepoint s', 'T')
      .ok('release s', 'T')
      .ok('rollback to s', 'T')
      .ok('commit', 'I', 'COMMIT');
    expect(d.settings()).toEqual({ work_mem: '1' });
  });

  it('a failed statement inside a savepoint, then ROLLBACK TO: the transaction goes on and commits the right settings', () => {
    const d = new Driver()
      .ok('begin', 'T')
      .ok('set work_mem = 1', 'T')
      .ok('savepoint s', 'T')
      .ok('set search_path = gone', 'T')
      .fail('', 'E')
      .ok('rollback to savepoint s', 'T')
      .ok('set datestyle = iso', 'T')
      .ok('commit', 'I', 'COMMIT');
    expect(d.settings()).toEqual({ work_mem: '1', datestyle: 'iso' });
  });

  it('a savepoint declared by the failed request itself is the one ROLLBACK TO finds', () => {
    // Extended protocol: SAVEPOINT and SET completed, the next statement failed, one Sync.
    const d = new Driver()
      .ok('begin', 'T')
      .ok('savepoint s', 'T')
      .ok('set work_mem = 1', 'T')
      .fail('set datestyle = iso; savepoint s; set search_path = gone', 'E');
    expect(d.b.isStateUncertain).toBe(true);
    d.ok('rollback to s', 'T').ok('commit', 'I', 'COMMIT');
    expect(d.settings()).toEqual({ work_mem: '1', datestyle: 'iso' });
  });

  it('a failed COMMIT rolls back; ROLLBACK drops the savepoints', () => {
    const d = new Driver().ok('begin', 'T').ok('savepoint s', 'T').ok('set work_mem = 1', 'T').fail('commit', 'I');
    expect(d.settings()).toEqual({});
    expect(d.state.tx.isEmpty).toBe(true);
    d.ok('begin', 'T').ok('savepoint s', 'T').ok('set work_mem = 2', 'T').ok('rollback', 'I', 'ROLLBACK');
    expect(d.settings()).toEqual({});
    expect(d.state.tx.isEmpty).toBe(true);
  });

  it('SET LOCAL is not tracked; a SET in autocommit still is', () => {
    const d = new Driver().ok('begin', 'T').ok('savepoint s', 'T').ok('set local work_mem = 1', 'T').ok('commit', 'I', 'COMMIT').ok('set search_path = x', 'I');
    expect(d.settings()).toEqual({ search_path: 'x' });
  });

  it('ROLLBACK TO a savepoint Meridian never saw: nothing pending is kept, the backend is re-synced', () => {
    const d = new Driver().ok('begin', 'T').ok('set work_mem = 1', 'T').ok('rollback to s', 'T').ok('commit', 'I', 'COMMIT');
    expect(d.settings()).toEqual({});
    expect(d.b.isStateUncertain).toBe(true);
  });

  it('statements after a ROLLBACK in the same request apply (its tag is not the last)', () => {
    const d = new Driver().ok('begin', 'T').ok('set work_mem = 1', 'T').ok('rollback; set search_path = x', 'I', 'SET');
    expect(d.settings()).toEqual({ search_path: 'x' });
  });
});

describe('SessionState: other effects inside rolled-back savepoints', () => {
  it('SQL-level PREPARE and DEALLOCATE are not undone by ROLLBACK [TO]', () => {
    const d = new Driver().ok('begin', 'T').ok('savepoint s', 'T').ok('prepare p as select 1', 'T').ok('rollback to s', 'T').ok('commit', 'I', 'COMMIT');
    expect([...d.state.sqlStmts.keys()]).toEqual(['p']);
    expect(d.b.sqlPrepared.has('p')).toBe(true);
    d.ok('begin', 'T').ok('prepare q as select 2', 'T').ok('deallocate p', 'T').ok('rollback', 'I', 'ROLLBACK');
    expect([...d.state.sqlStmts.keys()]).toEqual(['q']);
  });

  it('a temp table, LISTEN or WITH HOLD cursor rolled back does not pin; committed, it does', () => {
    const d = new Driver()
      .ok('begin', 'T')
      .ok('savepoint s', 'T')
      .ok('create temp table tt(a int)', 'T')
      .ok('listen ch', 'T')
      .ok('declare c cursor with hold for select 1', 'T')
      .ok('rollback to savepoint s', 'T')
      .ok('commit', 'I', 'COMMIT');
    expect(d.state.isPinned).toBe(false);
    d.ok('begin', 'T').ok('create temp table tt(a int)', 'T').ok('rollback', 'I', 'ROLLBACK');
    expect(d.state.isPinned).toBe(false);
    d.ok('begin', 'T').ok('savepoint s', 'T').ok('listen ch', 'T').ok('release s', 'T').ok('commit', 'I', 'COMMIT');
    expect(d.state.pinReasons()).toEqual(['listen']);
  });

  it('a WITH HOLD cursor declared and closed in one block does not pin; CLOSE is not undone by ROLLBACK', () => {
    const d = new Driver().ok('begin', 'T').ok('declare c cursor with hold for select 1', 'T').ok('close c', 'T').ok('commit', 'I', 'COMMIT');
    expect(d.state.isPinned).toBe(false);
    d.ok('begin', 'T').ok('declare c cursor with hold for select 1', 'T').ok('commit', 'I', 'COMMIT');
    expect(d.state.pinReasons()).toEqual(['cursor']);
    d.ok('begin', 'T').ok('close c', 'T').ok('rollback', 'I', 'ROLLBACK');
    expect(d.state.isPinned).toBe(false);
  });

  it('session advisory locks and unlocks survive ROLLBACK TO (they are not transactional)', () => {
    const d = new Driver().ok('begin', 'T').ok('savepoint s', 'T').ok('select pg_advisory_lock(7)', 'T').ok('rollback to s', 'T');
    expect(d.state.pinReasons()).toEqual(['advisory-lock']);
    d.ok('commit', 'I', 'COMMIT')
      .ok('begin', 'T')
      .ok('savepoint s', 'T')
      .ok('select pg_advisory_unlock(7)', 'T')
      .ok('rollback to s', 'T')
      .ok('commit', 'I', 'COMMIT');
    expect(d.state.isPinned).toBe(false);
  });

  it('a DROP of a temp table rolled back keeps the pin', () => {
    const d = new Driver()
      .ok('create temp table tt(a int)', 'I')
      .ok('begin', 'T')
      .ok('savepoint s', 'T')
      .ok('drop table tt', 'T')
      .ok('rollback to s', 'T')
      .ok('commit', 'I', 'COMMIT');
    expect(d.state.pinReasons()).toEqual(['temp-table']);
  });
});

describe('SessionState: SQL it builds names statements safely', () => {
  it('regression: DEALLOCATE of a name holding a double quote is escaped, not broken out of', () => {
    const d = new Driver();
    const name = 'x"; DROP TABLE t; --';
    d.b.sqlPrepared.set(name, 'PREPARE other AS SELECT 1'); // another session's, left on this backend
    const sql = d.state.planSync(d.b, [name], null);
    expect(sql).toContain('DEALLOCATE "x""; DROP TABLE t; --"');
    expect(sql).not.toContain('DEALLOCATE "x";');
  });
});

describe('SessionState: settings brought to a backend (issue 15)', () => {
  /** A session that set a superuser-only setting, then changed identity, on backend `d.b`. */
  function afterRoleChange(): Driver {
    return new Driver().ok('set lo_compat_privileges = on', 'I').ok('set session authorization regress_r', 'I').ok('set role regress_q', 'I');
  }

  it('regression: settings go as the login role, SET SESSION AUTHORIZATION and SET ROLE last', () => {
    const d = afterRoleChange();
    d.b.isStateUncertain = true; // a failed SET: the backend is brought back in full
    const parts = d.state.planSync(d.b, null, null)!.split('; ');
    expect(parts.slice(0, 3)).toEqual(['RESET ROLE', 'SET SESSION AUTHORIZATION DEFAULT', 'RESET ALL']);
    const lo = parts.findIndex((p) => p.includes('lo_compat_privileges'));
    const auth = parts.findIndex((p) => /session authorization regress_r/i.test(p));
    const role = parts.findIndex((p) => /role regress_q/i.test(p));
    expect(lo).toBeGreaterThan(2);
    expect(auth).toBeGreaterThan(lo);
    expect(role).toBeGreaterThan(auth);
  });

  it("a backend left under another role drops it before a setting changes, and takes the session's after", () => {
    const d = new Driver().ok('set lo_compat_privileges = on', 'I');
    d.b.settings.set('role', 'SET ROLE other_one'); // another session's identity on this backend
    d.b.syncedSessionId = 99;
    d.b.settings.delete('lo_compat_privileges');
    const parts = d.state.planSync(d.b, null, null)!.split('; ');
    expect(parts[0]).toBe('RESET ROLE');
    expect(parts[1]).toBe('SET SESSION AUTHORIZATION DEFAULT');
    expect(parts.some((p) => p.includes('lo_compat_privileges'))).toBe(true);
    expect(parts.some((p) => p.includes('other_one'))).toBe(false);
  });

  it('RESET of a startup setting on a backend opened without it brings the startup value back next time', () => {
    const d = new Driver().ok("set application_name = 'changed'", 'I');
    d.state.markSynced(d.b, null, null);
    d.ok('reset application_name', 'I');
    expect(d.b.settings.has('application_name')).toBe(false); // the server's default now
    expect(d.state.planSync(d.b, null, null)).toContain(`set_config('application_name', 'unit', false)`);
  });

  it("RESET on a backend opened with the session's startup settings (session pooling) needs nothing", () => {
    const d = new Driver();
    d.state.isSessionPooled = true;
    (d.b as { startup: unknown }).startup = backendStartup(new Map([['application_name', 'unit']]));
    startupBooks(d.b.startup, d.b.settings);
    expect(d.state.planSync(d.b, null, null)).toBeNull();
    d.ok("set application_name = 'changed'", 'I').ok('reset application_name', 'I').ok('reset all', 'I');
    expect(d.state.planSync(d.b, null, null)).toBeNull();
  });

  it("session pooling: nothing is replayed onto the session's own backend, even when uncertain", () => {
    const d = afterRoleChange();
    d.state.isSessionPooled = true;
    d.b.isStateUncertain = true;
    expect(d.state.planSync(d.b, null, null)).toBeNull();
  });
});
