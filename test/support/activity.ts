// Test support: waiting for a server backend to be running a given statement (pg_stat_activity),
// e.g. to end it with pg_terminate_backend while it runs.

import type { PgNode } from './types.js';
import { waitFor } from './wait.js';

/** The pid of a backend on `node` whose active query matches `ilike` (waits up to 10 s for one). */
export async function activePid(node: PgNode, ilike: string, what: string): Promise<number> {
  let pid = 0;
  await waitFor(
    async () => {
      const rows = await node.query<{ pid: number }>("select pid from pg_stat_activity where state = 'active' and query ilike $1 and pid <> pg_backend_pid()", [
        ilike,
      ]);
      pid = rows[0]?.pid ?? 0;
      return pid !== 0;
    },
    { timeoutMs: 10_000, what },
  );
  return pid;
}
