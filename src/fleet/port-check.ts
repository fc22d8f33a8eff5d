// The primary's check of the ports its workers will share, before it forks them, on Bun. There each
// worker binds with SO_REUSEPORT (the kernel spreads connections over the workers), and such a bind
// also succeeds next to another process of the same user that did the same: a second instance
// started on the port of a running one would silently take half of its connections. An exclusive
// bind by the primary, closed at once, refuses that case (and any other listener on the port).
// Port 0 is refused too: each worker would get a port of its own. On Node.js the cluster module
// binds one socket for all workers, so none of this applies.

import { createServer } from 'node:net';
import type { MeridianConfig } from '../config/types.js';

/** Binds host:port exclusively and closes it: null when that worked, else the reason. */
function bindOnce(host: string, port: number): Promise<string | null> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(null)));
  });
}

/** Why the workers cannot share the listen ports of `cfg` (a message), or null when they can. */
export async function sharedPortsProblem(cfg: MeridianConfig): Promise<string | null> {
  const ports: { what: string; host: string; port: number }[] = [{ what: 'listen', host: cfg.listen.host, port: cfg.listen.port }];
  const http = cfg.admin.http;
  if (http !== null) ports.push({ what: 'admin.http', host: http.host, port: http.port });
  for (const p of ports) {
    if (p.port === 0) return `${p.what}.port 0 with workers > 1 on Bun: each worker would listen on a port of its own; set a port`;
    const err = await bindOnce(p.host, p.port);
    if (err !== null) return `${p.what} ${p.host}:${p.port} cannot be bound (${err}): is another process (another Meridian?) listening there?`;
  }
  return null;
}
