// SHUTDOWN: stop accepting clients, let sessions finish their transactions (bounded by
// shutdown.grace), close everything. The console reply goes out first. The process owner (cli.ts)
// registers what to do once Meridian stopped (close HTTP, exit) with onDone.

import type { Drains } from './drain.js';
import { text, type AdminTable } from './table.js';
import type { AdminHost } from './types.js';

type Handler = () => void | Promise<void>;

export class Shutdown {
  private readonly handlers: Handler[] = [];

  constructor(
    private readonly host: AdminHost,
    private readonly drains: Drains,
  ) {}

  /** Runs `fn` after an admin SHUTDOWN has stopped Meridian. */
  onDone(fn: Handler): void {
    this.handlers.push(fn);
  }

  command(): AdminTable {
    const h = this.host;
    const graceMs = h.config.shutdown.graceMs;
    h.logger.info({ sessions: h.sessions.size, graceMs }, 'shutdown requested');
    // Let the reply reach the client before the admin session itself is closed.
    setTimeout(() => {
      this.drains.stopAll();
      void h.stop(graceMs).then(async () => {
        for (const fn of this.handlers) await fn();
      });
    }, 50).unref();
    return {
      columns: [text('message')],
      rows: [[`shutting down: no new clients; sessions get up to ${Math.round(graceMs / 1000)}s to finish their transactions`]],
      tag: 'SHUTDOWN',
    };
  }
}
