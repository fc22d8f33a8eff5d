// Bench support: summarises a .cpuprofile (node --cpu-prof or bun --cpu-prof) of Meridian under load: self time per
// function and per area (Meridian's files, Node internals by module, GC, native), idle excluded, so
// the report can say what dominates the hot path.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface CpuProfileJson {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface ProfileRow {
  name: string;
  selfMs: number;
  pct: number; // of busy (non-idle) time
}

export interface ProfileSummary {
  phase: string;
  file: string;
  wallMs: number;
  busyMs: number;
  idleMs: number;
  topFunctions: ProfileRow[];
  areas: ProfileRow[];
}

/** Where a frame's code lives, shortened: dist/frontend/x.js, node:net, pino, (garbage collector) … */
function areaOf(url: string, fn: string): string {
  if (url === '') return fn.startsWith('(') ? fn : '(native)';
  const dist = url.indexOf('/dist/');
  if (dist >= 0) return `meridian ${url.slice(dist + 1)}`;
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 14).split('/');
    return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1] ?? ''}` : (rest[0] ?? url);
  }
  if (url.startsWith('node:')) return url;
  return url.replace(/^file:\/\//, '');
}

function medianOf(values: readonly number[]): number {
  const v = values.filter((x) => x > 0).sort((a, b) => a - b);
  return v.length === 0 ? 0 : v[Math.floor(v.length / 2)]!;
}

export function summarizeProfile(file: string, phase: string, top = 25): ProfileSummary {
  const prof = JSON.parse(readFileSync(file, 'utf8')) as CpuProfileJson;
  const selfUs = new Map<number, number>();
  if (prof.samples && prof.timeDeltas && prof.samples.length === prof.timeDeltas.length) {
    // V8 (node --cpu-prof) samples idle time too, as an "(idle)" node: each sample weighs the time
    // since the one before. Bun's profiler samples only while the thread runs, so a delta there
    // also spans the idle gap before the sample: each sample weighs one interval (the median delta).
    const hasIdle = prof.nodes.some((n) => n.callFrame.functionName === '(idle)');
    const interval = hasIdle ? 0 : medianOf(prof.timeDeltas);
    for (let i = 0; i < prof.samples.length; i++) {
      const id = prof.samples[i]!;
      selfUs.set(id, (selfUs.get(id) ?? 0) + (hasIdle ? Math.max(0, prof.timeDeltas[i]!) : interval));
    }
  } else {
    const total = prof.nodes.reduce((a, n) => a + (n.hitCount ?? 0), 0) || 1;
    for (const n of prof.nodes) selfUs.set(n.id, ((n.hitCount ?? 0) / total) * (prof.endTime - prof.startTime));
  }
  const byFn = new Map<string, number>();
  const byArea = new Map<string, number>();
  let idle = 0;
  let busy = 0;
  for (const n of prof.nodes) {
    const us = selfUs.get(n.id) ?? 0;
    if (us === 0) continue;
    const { functionName, url, lineNumber } = n.callFrame;
    if (functionName === '(idle)') {
      idle += us;
      continue;
    }
    busy += us;
    const area = areaOf(url, functionName);
    const key = url === '' ? functionName || '(anonymous)' : `${functionName || '(anonymous)'} ${area.replace(/^meridian /, '')}:${lineNumber + 1}`;
    byFn.set(key, (byFn.get(key) ?? 0) + us);
    byArea.set(area, (byArea.get(area) ?? 0) + us);
  }
  const rows = (m: Map<string, number>, limit: number): ProfileRow[] =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, limit)
      .map(([name, us]) => ({ name, selfMs: us / 1000, pct: busy > 0 ? (100 * us) / busy : 0 }));
  return {
    phase,
    file,
    wallMs: (prof.endTime - prof.startTime) / 1000,
    busyMs: busy / 1000,
    idleMs: idle / 1000,
    topFunctions: rows(byFn, top),
    areas: rows(byArea, 15),
  };
}

/** The newest .cpuprofile in a directory, or null. */
export function findProfile(dir: string): string | null {
  try {
    const files = readdirSync(dir)
      .filter((f) => f.endsWith('.cpuprofile'))
      .sort();
    const last = files[files.length - 1];
    return last ? join(dir, last) : null;
  } catch {
    return null;
  }
}
