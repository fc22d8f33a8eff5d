// SHUTDOWN: stop accepting clients, let sessions finish their transactions (bounded by
// drain.timeout), close everything. The console reply goes out first. The process owner (cli.ts)
// registers what to do once Meridian stopped (close HTTP, exit) with onAdminShutdown.

import type { Meridian } from '../server.js';
import { stopDrains } from './drain.js';
import { text, type AdminTable } from './table.js';

type Handler = () => void | Promise<void>;
const handlers = new WeakMap<Meridian, Handler[]>();

/** Runs `fn` after an admin SHUTDOWN has stopped Meridian. */
export function onAdminShutdown(m: Meridian, fn: Handler): void {
  const list = handlers.get(m) ?? [];
  list.push(fn);
  handlers.set(m, list);
}

export function shutdownCommand(m: Meridian): AdminTable {
  const graceMs = m.config.drain.timeoutMs;
  m.logger.info({ sessions: m.sessions.size, graceMs }, 'shutdown requested');
  // Let the reply reach the client before the admin session itself is closed.
  setTimeout(() => {
    stopDrains(m);
    void m.stop(graceMs).then(async () => {
      for (const fn of handlers.get(m) ?? []) await fn();
    });
  }, 50).unref();
  return {
    columns: [text('message')],
    rows: [[`shutting down: no new clients; sessions get up to ${Math.round(graceMs / 1000)}s to finish their transactions`]],
    tag: 'SHUTDOWN',
  };
}
