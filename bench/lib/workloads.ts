// Bench support: the pgbench workloads. Built-in select-only and tpcb-like in the three query modes,
// and the routing mix: 90 % single-row reads, 10 % small write transactions, as custom scripts.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { QueryMode, ScriptFile } from './pgbench.js';

export interface Workload {
  id: string;
  label: string;
  mode: QueryMode;
  builtin?: 'select-only' | 'tpcb-like';
  /** Custom scripts (the routing mix); written by writeRoutingScripts. */
  routing?: boolean;
}

export const SINGLE_NODE_WORKLOADS: readonly Workload[] = [
  { id: 'select-simple', label: 'select-only, -M simple', mode: 'simple', builtin: 'select-only' },
  { id: 'select-extended', label: 'select-only, -M extended', mode: 'extended', builtin: 'select-only' },
  { id: 'select-prepared', label: 'select-only, -M prepared', mode: 'prepared', builtin: 'select-only' },
  { id: 'tpcb-simple', label: 'tpcb-like, -M simple', mode: 'simple', builtin: 'tpcb-like' },
];

export const ROUTING_WORKLOAD: Workload = {
  id: 'routing',
  label: 'routing mix 90 % reads / 10 % writes, -M simple',
  mode: 'simple',
  routing: true,
};

/** Writes the routing scripts for a pgbench scale; returns them with their weights (9:1). */
export function writeRoutingScripts(dir: string, scale: number): ScriptFile[] {
  const accounts = 100_000 * scale;
  const read = join(dir, 'routing-read.sql');
  const write = join(dir, 'routing-write.sql');
  writeFileSync(read, [`\\set aid random(1, ${accounts})`, 'SELECT abalance FROM pgbench_accounts WHERE aid = :aid;', ''].join('\n'));
  writeFileSync(
    write,
    [
      `\\set aid random(1, ${accounts})`,
      `\\set tid random(1, ${10 * scale})`,
      `\\set bid random(1, ${scale})`,
      '\\set delta random(-5000, 5000)',
      'BEGIN;',
      'UPDATE pgbench_accounts SET abalance = abalance + :delta WHERE aid = :aid;',
      'INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (:tid, :bid, :aid, :delta, CURRENT_TIMESTAMP);',
      'END;',
      '',
    ].join('\n'),
  );
  return [
    { path: read, weight: 9 },
    { path: write, weight: 1 },
  ];
}
