// The primary's memory of drained nodes (issue 17, workers), which workers it restarts start with:
// only a DRAIN every worker carried out counts; a failed one, or one an UNDRAIN aborted while it
// waited (its answer comes after the UNDRAIN's), must not leave the node remembered as drained.

import { describe, expect, it } from 'vitest';
import { int, text } from '../../../src/admin/table.js';
import { followDrains } from '../../../src/fleet/drained-nodes.js';
import type { PeerAnswer } from '../../../src/fleet/link.js';

const cols = [text('node'), text('state'), text('outcome'), int('waited_ms'), int('cancelled'), int('closed'), int('left_running'), text('message')];
const answered = (worker: number, outcome: string): PeerAnswer => ({
  worker,
  ok: true,
  table: { columns: cols, rows: [['s1', outcome === 'undrained' ? 'catching-up' : 'drained', outcome, 5, 0, 0, 0, '']], tag: 'DRAIN' },
});
const failed = (worker: number): PeerAnswer => ({
  worker,
  ok: false,
  code: 'ADMIN_FAILED',
  sqlstate: '55000',
  message: 'refusing to drain "s1": it is the last master of the cluster',
});

describe('followDrains', () => {
  it('remembers a DRAIN every worker carried out (NOWAIT: started), forgets it on UNDRAIN', () => {
    const drained = new Set<string>();
    followDrains(drained, 'DRAIN s1 5s', [answered(1, 'drained'), answered(2, 'already-drained')]);
    expect([...drained]).toEqual(['s1']);
    followDrains(drained, 'undrain s1;', [answered(1, 'x')]);
    expect([...drained]).toEqual([]);
    followDrains(drained, 'DRAIN "s1" NOWAIT', [answered(1, 'started')]);
    expect([...drained]).toEqual(['s1']);
  });

  it('a DRAIN refused or failed on a worker is not remembered', () => {
    const drained = new Set<string>();
    followDrains(drained, 'DRAIN s1', [answered(1, 'drained'), failed(2)]);
    expect([...drained]).toEqual([]);
  });

  it('a DRAIN aborted by an UNDRAIN while it waited is not remembered, though its answer comes last', () => {
    const drained = new Set<string>(['s1']); // an earlier NOWAIT drain, say
    followDrains(drained, 'UNDRAIN s1', [answered(1, 'x')]); // the UNDRAIN answers first …
    followDrains(drained, 'DRAIN s1 60s', [answered(1, 'undrained')]); // … then the waiting DRAIN, aborted
    console.log(`remembered as drained after DRAIN aborted by UNDRAIN: ${JSON.stringify([...drained])}`);
    expect([...drained]).toEqual([]);
  });

  it('RELOAD asks for the primary’s own reload only when every worker applied it', () => {
    expect(followDrains(new Set(), 'reload', [answered(1, 'x')])).toBe(true);
    expect(followDrains(new Set(), 'RELOAD', [failed(1)])).toBe(false);
    expect(followDrains(new Set(), 'SHOW POOLS', [])).toBe(false);
  });
});
