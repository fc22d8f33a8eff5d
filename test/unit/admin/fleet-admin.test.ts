// Admin answers across workers (issue 17): DRAIN's counts over every worker, SHOW tables with a
// worker column, and a worker that failed makes the command fail naming it.

import { describe, expect, it } from 'vitest';
import { combineAnswers, fanoutTimeoutMs, NODES_SUM, RESIDENCY_SUM, STATS_SUM } from '../../../src/admin/fleet-admin.js';
import { float, int, text, type AdminTable } from '../../../src/admin/table.js';
import type { PeerAnswer } from '../../../src/fleet/link.js';

const drainCols = [text('node'), text('state'), text('outcome'), int('waited_ms'), int('cancelled'), int('closed'), int('left_running'), text('message')];
const drainRow = (waited: number, cancelled: number, closed: number, left: number, outcome = 'drained'): AdminTable => ({
  columns: drainCols,
  rows: [['n1', 'drained', outcome, waited, cancelled, closed, left, 'node "n1" drained']],
  tag: 'DRAIN',
});

describe('combineAnswers', () => {
  it('DRAIN: the longest wait and the summed counts of every worker', () => {
    const peers: PeerAnswer[] = [
      { worker: 1, ok: true, table: drainRow(900, 1, 2, 0) },
      { worker: 2, ok: true, table: drainRow(100, 0, 1, 3) },
    ];
    const t = combineAnswers('drain', 0, drainRow(300, 2, 0, 1), peers);
    expect(t.rows).toEqual([['n1', 'drained', 'drained', 900, 3, 3, 4, 'node "n1" drained']]);
    expect(t.tag).toBe('DRAIN');
    const aborted = combineAnswers('drain', 0, drainRow(1, 0, 0, 0), [{ worker: 1, ok: true, table: drainRow(1, 0, 0, 0, 'undrained') }]);
    expect(aborted.rows[0]![2]).toBe('undrained');
  });

  it('SHOW: every worker’s rows, in worker order, with a worker column', () => {
    const local: AdminTable = { columns: [int('id')], rows: [[7]] };
    const t = combineAnswers('concat', 1, local, [
      { worker: 2, ok: true, table: { columns: [int('id')], rows: [[1], [2]] } },
      { worker: 0, ok: true, table: { columns: [int('id')], rows: [] } },
    ]);
    expect(t.columns.map((c) => c.name)).toEqual(['id', 'worker']);
    expect(t.rows).toEqual([
      [7, 1],
      [1, 2],
      [2, 2],
    ]);
  });

  it('SHOW STATS: counters summed per row over every worker and the primary, means weighted by their counts', () => {
    const cols = [text('node'), int('requests'), float('avg_request_ms'), int('probe_failures')];
    const t = (rows: (string | number | null)[][]): AdminTable => ({ columns: cols, rows });
    const local = t([
      ['n1', null, null, 0],
      ['*', 10, 2, 0],
    ]);
    const out = combineAnswers({ ...STATS_SUM, sum: ['requests', 'probe_failures'] }, 0, local, [
      { worker: 1, ok: true, table: t([['*', 30, 4, 0]]) },
      {
        worker: -1,
        ok: true,
        table: t([
          ['n1', null, null, 5],
          ['*', 0, null, 5],
          ['gone', 1, 1, 1],
        ]),
      },
    ]);
    expect(out.rows).toEqual([
      ['n1', null, null, 5],
      ['*', 40, 3.5, 5],
    ]);
  });

  it('SHOW NODES: backend and routed counts summed per node; the topology columns are this worker’s', () => {
    const cols = [text('name'), float('lag_ms'), int('active_backends'), int('routed_reads')];
    const out = combineAnswers(NODES_SUM, 0, { columns: cols, rows: [['n1', 5, 1, 10]] }, [
      { worker: 1, ok: true, table: { columns: cols, rows: [['n1', 5, 2, 7]] } },
    ]);
    expect(out.rows).toEqual([['n1', 5, 3, 17]]);
  });

  it('SHOW RESIDENCY: sessions and refusals summed per rule; a rule combination only a peer’s sessions match still shows', () => {
    const cols = [text('rule'), text('status'), int('sessions'), int('refusals')];
    const out = combineAnswers(RESIDENCY_SUM, 0, { columns: cols, rows: [['eu', 'ok', 2, 1]] }, [
      {
        worker: 1,
        ok: true,
        table: {
          columns: cols,
          rows: [
            ['eu', 'ok', 3, 0],
            ['eu+us', 'ok', 1, 4],
          ],
        },
      },
    ]);
    expect(out.rows).toEqual([
      ['eu', 'ok', 5, 1],
      ['eu+us', 'ok', 1, 4],
    ]);
  });

  it('a worker that failed or did not answer fails the command (55000) naming it', () => {
    const local: AdminTable = { columns: [text('key')], rows: [['(none)']] };
    let err: unknown = null;
    try {
      combineAnswers('all', 0, local, [{ worker: 3, ok: false, code: 'ADMIN_FAILED', sqlstate: '55000', message: 'no answer to admin within 30000 ms' }]);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ sqlstate: '55000', message: 'worker 3: no answer to admin within 30000 ms' });
    expect(combineAnswers('all', 0, local, [{ worker: 1, ok: true, table: local }])).toBe(local);
  });

  it('a waited DRAIN may take its own timeout and more; others 30 s', () => {
    const cfg = { drain: { timeoutMs: 20_000, onTimeout: 'cancel' } } as never;
    expect(fanoutTimeoutMs('drain', ' n1 5s', cfg)).toBe(20_000);
    expect(fanoutTimeoutMs('drain', ' n1', cfg)).toBe(35_000);
    expect(fanoutTimeoutMs('drain', ' n1 NOWAIT', cfg)).toBe(30_000);
    expect(fanoutTimeoutMs('all', '', cfg)).toBe(30_000);
  });
});
