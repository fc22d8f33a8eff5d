// Test support: free TCP ports on 127.0.0.1 for servers that need a fixed port before they start
// (PostgreSQL writes its port into its config; DSNs between nodes embed it).
//
// Ports are drawn at random from below the kernel's ephemeral range, so an outgoing connection never
// grabs one between our check and the server's bind, and parallel test workers rarely pick the same
// one. A pick can still race another process; callers that start servers retry on "address in use".
// Servers we start in-process (relays, fake servers) should simply listen on port 0 instead.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

const handedOut = new Set<number>();
const LOWEST = 10_000;

function ephemeralLow(): number {
  try {
    const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/);
    const n = Number(low);
    return Number.isInteger(n) && n > 0 ? n : 32_768;
  } catch {
    return 32_768;
  }
}

/** Resolves true when `port` can be bound on `host` right now. */
export function canBind(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

function kernelPickedPort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ port: 0, host }, () => {
      const addr = server.address();
      server.close(() => (addr && typeof addr === 'object' ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** A port that was free a moment ago and that this process has not handed out before. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const high = ephemeralLow();
  if (high - LOWEST >= 1000) {
    for (let i = 0; i < 100; i++) {
      const port = LOWEST + Math.floor(Math.random() * (high - LOWEST));
      if (handedOut.has(port)) continue;
      if (await canBind(port, host)) {
        handedOut.add(port);
        return port;
      }
    }
  }
  for (let i = 0; i < 100; i++) {
    const port = await kernelPickedPort(host);
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error('no free TCP port found');
}
