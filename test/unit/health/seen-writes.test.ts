// Read-your-writes watermarks from probe results (src/health/seen-writes.ts).
import { describe, expect, it } from 'vitest';
import { coveredUpTo, MAX_LSN_MARKS, recordLsnMark, type LsnMark, type MasterMarks } from '../../../src/health/seen-writes.js';
import { kindPlugin, type ClusterKind } from '../../../src/cluster/kinds/index.js';
import type { RawProbe } from '../../../src/health/probe-result.js';
import { raw } from './fake-health.js';

/** The kind's watermark rule, as the health monitor calls it. */
const seenWritesOf = (kind: ClusterKind, probe: RawProbe, masters: readonly MasterMarks[]) => kindPlugin(kind).seenWrites(probe, masters);

const primaryProbe = (sentAtMs: number, insertLsn: number): RawProbe => raw({ sentAtMs, insertLsn, currentLsn: insertLsn });

describe('physical marks', () => {
  it('a standby covers the newest mark at or below its replay position', () => {
    const marks: LsnMark[] = [];
    recordLsnMark(marks, primaryProbe(1_000, 100));
    recordLsnMark(marks, primaryProbe(2_000, 250));
    recordLsnMark(marks, primaryProbe(3_000, 400));
    expect(coveredUpTo(marks, 99)).toBeNull();
    expect(coveredUpTo(marks, 100)).toBe(1_000);
    expect(coveredUpTo(marks, 399)).toBe(2_000);
    expect(coveredUpTo(marks, 10_000)).toBe(3_000);
    const standby = raw({ inRecovery: true, replayLsn: 260, receiveLsn: 300 });
    expect(seenWritesOf('physical', standby, [{ name: 'p', marks }])).toEqual(new Map([['p', 2_000]]));
    expect(seenWritesOf('physical', raw({ inRecovery: true, replayLsn: 50 }), [{ name: 'p', marks }])).toBeNull();
  });

  it('a primary has no watermark (it took the writes); a probe without insert_lsn adds no mark', () => {
    expect(seenWritesOf('physical', primaryProbe(1_000, 100), [])).toBeNull();
    const marks: LsnMark[] = [];
    recordLsnMark(marks, raw({ sentAtMs: 5 }));
    expect(marks).toEqual([]);
  });

  it('marks stay bounded, and a position going backwards (new timeline) starts them over', () => {
    const marks: LsnMark[] = [];
    for (let i = 1; i <= MAX_LSN_MARKS + 10; i++) recordLsnMark(marks, primaryProbe(i * 1_000, i * 10));
    expect(marks.length).toBe(MAX_LSN_MARKS);
    expect(marks[0]!.atMs).toBe(11_000);
    recordLsnMark(marks, primaryProbe(99_000, 5));
    expect(marks).toEqual([{ atMs: 99_000, lsn: 5 }]);
  });
});

describe('heartbeat kinds', () => {
  it('the heartbeat rows a node sees are its watermarks; native logical has none', () => {
    const rows = new Map([
      ['a', 1_000],
      ['b', 2_000],
    ]);
    const probe = raw({ heartbeat: rows });
    expect(seenWritesOf('pglogical', probe, [])).toBe(rows);
    expect(seenWritesOf('heartbeat', probe, [])).toBe(rows);
    expect(seenWritesOf('logical', probe, [])).toBeNull();
    expect(seenWritesOf('pglogical', raw({ heartbeat: null }), [])).toBeNull();
  });
});
