// Bench reference target "node-floor": the cheapest correct TCP relay Node.js can run, one server
// connection per client, no parsing, no pooling, no routing. What it costs per transaction is the
// floor under any proxy written for Node: Meridian's goals are read against it in RESULTS.md.
//
// Each direction reads into its own reused buffer (`onread`: no allocation per read) and writes the
// bytes on at once (Node first tries the write synchronously, so this is one read and one write
// system call per chunk). When the kernel does not take a write whole, the socket still points into
// the buffer: the direction stops reading until that write is done, so the buffer is never overwritten early.
//
// usage: node --import tsx bench/lib/node-floor.ts <listen port> <server port>
// (the bench runs it transpiled, with plain node: see startNodeFloor)
import net from 'node:net';

const [listenPort, serverPort] = process.argv.slice(2, 4).map(Number);
if (!listenPort || !serverPort) {
  console.error('usage: node-floor.ts <listen port> <server port>');
  process.exit(2);
}

const EMPTY = Buffer.alloc(0);

/** Relays what `from` reads into `to`; reading pauses while `to` holds unsent bytes. */
function relayOptions(to: () => net.Socket | null, from: () => net.Socket | null): net.OnReadOpts {
  return {
    buffer: Buffer.allocUnsafe(64 * 1024),
    callback: (n: number, buf: Uint8Array) => {
      const dst = to();
      if (dst === null || dst.destroyed) return false;
      dst.write(buf.subarray(0, n));
      if (dst.writableLength === 0) return true;
      // Still connecting, or the kernel took only part: an empty write queued behind it calls
      // back once it is out; reading resumes then.
      dst.write(EMPTY, () => from()?.resume());
      return false; // pauses this socket's reading
    },
  };
}

const server = net.createServer({ pauseOnConnect: true, noDelay: true }, (accepted) => {
  // Re-wrap the accepted handle so the client side reads through onread too.
  const handle = (accepted as unknown as { _handle: unknown })._handle;
  (accepted as unknown as { _handle: unknown })._handle = null;
  let client: net.Socket | null = null;
  let backend: net.Socket | null = null;
  client = new net.Socket({
    handle,
    onread: relayOptions(
      () => backend,
      () => client,
    ),
  } as net.SocketConstructorOpts);
  backend = net.connect({
    port: serverPort,
    host: '127.0.0.1',
    noDelay: true,
    onread: relayOptions(
      () => client,
      () => backend,
    ),
  });
  client.setNoDelay(true);
  const close = () => {
    client?.destroy();
    backend?.destroy();
  };
  client.on('error', close).on('close', close);
  backend.on('error', close).on('close', close);
  client.resume();
});
server.listen(listenPort, '127.0.0.1');
for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => process.exit(0));
