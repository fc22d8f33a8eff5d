// Issue 17: the bench report's goals table (bench/lib/report.ts) on a made-up run. Each runtime's
// Meridian is read against its own bare relay; the Pgpool-II goal counts only cells where that relay
// reaches 1.5×; RSS is per worker; the workers goal looks only at proxy-bound cells.
import { describe, expect, it } from 'vitest';
import { goalRows } from '../../../bench/lib/report.js';
import { summarizeCell, type BenchResult, type CellResult, type PhaseResult, type RunRecord } from '../../../bench/lib/results.js';
import type { BenchOptions } from '../../../bench/lib/options.js';

const ORDER = ['direct', 'pgbouncer', 'pgbouncer-session', 'pgpool', 'node-floor', 'bun-floor', 'meridian', 'meridian-bun', 'meridian-w2'];

interface Fig {
  tps: number;
  cpu?: number;
  p99?: number;
  hwm?: number;
}

function cellOf(workload: string, clients: number, figs: Record<string, Fig>): CellResult {
  const runs: RunRecord[] = [];
  for (let round = 1; round <= 3; round++) {
    for (const [target, f] of Object.entries(figs)) {
      runs.push({
        round,
        target,
        metrics: {
          ok: true,
          hardError: false,
          error: null,
          tps: f.tps,
          transactions: f.tps,
          failed: 0,
          latMeanMs: 1,
          latP99Ms: f.p99 ?? 2,
          cpuUsPerTx: f.cpu ?? null,
          windowS: 1,
          rssPeakMB: f.hwm ?? 50,
          hwmMB: f.hwm ?? 50,
          pssMB: 40,
          proxyProcesses: 1,
          durationS: 1,
          wallS: 1,
        },
      });
    }
  }
  const cell: CellResult = { workload, workloadLabel: workload, clients, runs, summary: [] };
  cell.summary = summarizeCell(cell, ORDER);
  return cell;
}

function phase(id: PhaseResult['id'], cells: CellResult[]): PhaseResult {
  return { id, label: id, description: '', targets: [], notes: [], cells, skipped: null };
}

function result(phases: PhaseResult[]): BenchResult {
  return {
    version: 1,
    mode: 'custom',
    startedAt: '2026-12-07T00:00:00.000Z',
    finishedAt: '2026-12-07T00:01:00.000Z',
    wallS: 60,
    options: {} as BenchOptions,
    machine: { hostname: 'h', cpus: 2, cpuModel: 'cpu', memoryGiB: 4, kernel: 'k', loadAvgStart: [0], loadAvgEnd: [0], versions: {}, git: null },
    meridian: { status: 'built', build: 'test' },
    phases,
    notes: [],
    profiles: [],
    syscalls: [],
  };
}

const RUN = result([
  phase('single', [
    cellOf('select-simple', 8, {
      pgbouncer: { tps: 10_000, cpu: 10 },
      pgpool: { tps: 5000, cpu: 30 },
      'node-floor': { tps: 9000, cpu: 14 },
      'bun-floor': { tps: 10_500, cpu: 9 },
      meridian: { tps: 9500, cpu: 16 },
      'meridian-bun': { tps: 8000, cpu: 12 },
      'meridian-w2': { tps: 9000, cpu: 20 },
    }),
    cellOf('tpcb-simple', 8, {
      pgbouncer: { tps: 1000, cpu: 80 },
      pgpool: { tps: 800, cpu: 200 },
      'node-floor': { tps: 950, cpu: 100 },
      meridian: { tps: 950, cpu: 135 },
    }),
    cellOf('select-extended', 32, {
      pgbouncer: { tps: 10_000, cpu: 10 },
      pgpool: { tps: 8000, cpu: 30 },
      meridian: { tps: 10_000, cpu: 100 },
      'meridian-w2': { tps: 13_000, cpu: 110 },
    }),
  ]),
  phase('standby', [
    cellOf('routing', 128, {
      pgbouncer: { tps: 3000, p99: 10 },
      meridian: { tps: 3000, p99: 14, hwm: 120 },
      'meridian-bun': { tps: 3000, p99: 20, hwm: 160 },
      'meridian-w2': { tps: 3000, p99: 14, hwm: 280 },
    }),
  ]),
]);

/** The table row whose goal starts with `prefix`: [goal, measured, verdict]. */
function row(prefix: string): [string, string, string] {
  const line = goalRows(RUN).find((l) => l.startsWith(`| ${prefix}`));
  if (!line) throw new Error(`no goal row starting with ${prefix}`);
  const [goal, measured, verdict] = line.slice(2, -2).split(' | ');
  return [goal!, measured!, verdict!];
}

describe('bench goals table', () => {
  it('checks TPS and CPU against PgBouncer per runtime', () => {
    expect(row('Meridian on Node.js: select-only -M simple and -M extended TPS')[2]).toBe('met');
    expect(row('Meridian on Bun: select-only -M simple and -M extended TPS')[2]).toBe('**missed**');
    expect(row('Meridian on Node.js: select-only -M simple and -M extended proxy CPU')[2]).toBe('**missed**');
    expect(row('Meridian on Bun: select-only -M simple and -M extended proxy CPU')[2]).toBe('met');
    expect(row('Meridian on Node.js: tpcb-like TPS')[2]).toBe('met');
  });

  it("reads own work against the same runtime's relay, per statement on tpcb-like", () => {
    const [, simple, ok] = row('Meridian on Node.js: own work on select-only');
    expect(simple).toContain('16.0 − 14.0 µs = +2.0 µs');
    expect(ok).toBe('met');
    expect(row('Meridian on Bun: own work on select-only')[1]).toContain('12.0 − 9.0 µs = +3.0 µs');
    const [, tpcb, verdict] = row('Meridian on Node.js: own work on tpcb-like');
    expect(tpcb).toContain('= 35.0 µs / 7 = +5.0 µs');
    expect(verdict).toBe('**missed**');
  });

  it('counts Pgpool-II cells only where the relay reaches 1.5×', () => {
    const [, measured, verdict] = row('Meridian on Node.js: TPS ≥ 1.5× Pgpool-II');
    expect(measured).toContain('1/1 cells where the relay reaches 1.5×');
    expect(measured).toContain('0/1 cells without the relay');
    expect(measured).toContain('1 cell where the relay itself stays under 1.5× (not counted)');
    expect(verdict).toBe('met');
  });

  it('checks the routing p99 and RSS per worker', () => {
    expect(row('Meridian on Node.js: routing mix')[2]).toBe('met');
    expect(row('Meridian on Bun: routing mix')[2]).toBe('**missed**');
    const [, rss, verdict] = row('128 clients: RSS per worker');
    expect(rss).toContain('meridian-w2, routing (standby), 128 cl: 140 MB (280 MB over 2 workers)');
    expect(verdict).toBe('**missed**'); // meridian-bun: 160 MB
  });

  it('judges workers: 2 on proxy-bound cells only', () => {
    const [, measured, verdict] = row('workers: 2');
    expect(measured).toContain('select-extended, 32 cl: 1 worker 1.00 cores; 2 workers 1.30×');
    expect(measured).not.toContain('select-simple');
    expect(verdict).toBe('met');
  });

  it('says how busy one worker got when no cell is proxy-bound', () => {
    const quiet = result([RUN.phases[0]!.cells[0]!].map((c) => phase('single', [c])));
    const line = goalRows(quiet).find((l) => l.startsWith('| workers: 2'));
    expect(line).toContain(
      'no proxy-bound cell: Meridian with 1 worker kept at most 0.15 cores busy (select-simple, 8 cl; 2 workers there: 0.95× its TPS at 0.09 cores per worker)',
    );
    expect(line).toContain('| not measured |');
  });
});
