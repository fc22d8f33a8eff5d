// Bench support: the shape of a run's results (what goes into bench/results/<date>.json) and the
// per-cell summary: medians over rounds, and ratios to direct and to PgBouncer taken within each
// round (both measured minutes apart at most) before the median is taken.
import type { MachineInfo } from './machine.js';
import type { BenchOptions, PhaseId } from './options.js';
import type { RunMetrics } from './pgbench.js';
import type { ProfileSummary } from './cpu-profile.js';
import type { SyscallCounts } from './syscalls.js';

export interface TargetInfo {
  id: string;
  label: string;
  status: 'ok' | 'skipped';
  reason: string | null;
  /** Workloads this target does not run, with why. */
  excludes: Record<string, string>;
  /** Runs only cells with at most this many clients (absent: all). */
  maxClients?: number;
}

export interface RunRecord {
  round: number;
  target: string;
  metrics: RunMetrics;
}

export interface TargetSummary {
  target: string;
  okRuns: number;
  runs: number;
  tps: number | null;
  latMeanMs: number | null;
  latP99Ms: number | null;
  cpuUsPerTx: number | null;
  rssPeakMB: number | null;
  hwmMB: number | null;
  pssMB: number | null;
  vsDirect: number | null;
  vsPgbouncer: number | null;
  pgbouncerRef: string | null;
  errors: string[];
}

export interface CellResult {
  workload: string;
  workloadLabel: string;
  clients: number;
  runs: RunRecord[];
  summary: TargetSummary[];
}

export interface PhaseResult {
  id: PhaseId;
  label: string;
  description: string;
  targets: TargetInfo[];
  notes: string[];
  cells: CellResult[];
  skipped: string | null;
}

export interface BenchResult {
  version: 1;
  mode: 'full' | 'quick' | 'custom';
  startedAt: string;
  finishedAt: string;
  wallS: number;
  options: BenchOptions;
  machine: MachineInfo;
  meridian: { status: string; build: string };
  phases: PhaseResult[];
  notes: string[];
  profiles: ProfileSummary[];
  syscalls: SyscallCounts[];
}

export function median(values: readonly number[]): number | null {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = v.length >> 1;
  return v.length % 2 === 1 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

/** The PgBouncer target a workload is compared with (session mode for -M prepared). */
export function pgbouncerRefFor(workload: string): string {
  return workload === 'select-prepared' ? 'pgbouncer-session' : 'pgbouncer';
}

/** Median over rounds of target TPS / ref TPS, both from the same round. */
export function ratioMedian(cell: CellResult, target: string, ref: string): number | null {
  const ratios: number[] = [];
  for (const r of cell.runs) {
    if (r.target !== target || !r.metrics.ok) continue;
    const base = cell.runs.find((x) => x.target === ref && x.round === r.round && x.metrics.ok);
    if (base && base.metrics.tps > 0) ratios.push(r.metrics.tps / base.metrics.tps);
  }
  return median(ratios);
}

export function summarizeCell(cell: CellResult, targetOrder: readonly string[]): TargetSummary[] {
  const ref = pgbouncerRefFor(cell.workload);
  const present = targetOrder.filter((t) => cell.runs.some((r) => r.target === t));
  return present.map((target) => {
    const runs = cell.runs.filter((r) => r.target === target);
    const ok = runs.filter((r) => r.metrics.ok).map((r) => r.metrics);
    const pick = (f: (m: RunMetrics) => number | null) => median(ok.map(f).filter((x): x is number => x !== null));
    const hasRef = cell.runs.some((r) => r.target === ref);
    return {
      target,
      okRuns: ok.length,
      runs: runs.length,
      tps: pick((m) => m.tps),
      latMeanMs: pick((m) => m.latMeanMs),
      latP99Ms: pick((m) => m.latP99Ms),
      cpuUsPerTx: pick((m) => m.cpuUsPerTx),
      rssPeakMB: pick((m) => m.rssPeakMB),
      hwmMB: ok.length ? Math.max(...ok.map((m) => m.hwmMB ?? 0)) || null : null,
      pssMB: pick((m) => m.pssMB),
      vsDirect: target === 'direct' ? 1 : ratioMedian(cell, target, 'direct'),
      vsPgbouncer: !hasRef ? null : target === ref ? 1 : ratioMedian(cell, target, ref),
      pgbouncerRef: hasRef ? ref : null,
      errors: [...new Set(runs.filter((r) => !r.metrics.ok).map((r) => r.metrics.error ?? 'failed'))],
    };
  });
}
