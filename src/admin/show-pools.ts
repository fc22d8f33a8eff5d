// SHOW POOLS: one row per pool (node, user, database) with backend counts by state, waiting
// sessions and whether the pool is draining. Reads only.

import { bool, int, text, type AdminTable } from './table.js';
import type { AdminPools } from './types.js';

export function showPools(poolManager: AdminPools): AdminTable {
  const pools = [...poolManager.allPools()].sort(
    (a, b) => a.node.localeCompare(b.node) || a.user.localeCompare(b.user) || a.database.localeCompare(b.database),
  );
  return {
    columns: [
      text('node'),
      text('user'),
      text('database'),
      int('active'),
      int('idle'),
      int('connecting'),
      int('waiting'),
      int('total'),
      int('max_size'),
      bool('draining'),
    ],
    rows: pools.map((p) => [p.node, p.user, p.database, p.activeCount, p.idleCount, p.connecting, p.waitingCount, p.total, p.maxSize, p.isDraining]),
  };
}
