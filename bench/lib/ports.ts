// Bench support: free loopback ports for servers that must know their port before they start.
// Picked at random below the kernel's ephemeral range, so outgoing connections never take one
// between the check and the server's bind; never the same port twice in one run.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

const handedOut = new Set<number>();

function ephemeralLow(): number {
  try {
    const n = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(n) && n > 11_000 ? n : 32_768;
  } catch {
    return 32_768;
  }
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)));
  });
}

export async function freePort(): Promise<number> {
  const high = ephemeralLow();
  const low = 10_000;
  for (let i = 0; i < 200; i++) {
    const port = low + Math.floor(Math.random() * (high - low));
    if (handedOut.has(port)) continue;
    // The port and port+1 (pgpool's PCP port sits next to it in our layout) must both be free.
    if ((await canBind(port)) && !handedOut.has(port + 1) && (await canBind(port + 1))) {
      handedOut.add(port);
      handedOut.add(port + 1);
      return port;
    }
  }
  throw new Error('no free loopback port found');
}
