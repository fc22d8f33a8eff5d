// Microbenchmark: FrameDecoder throughput (MB/s, frames/s) on realistic server responses.
// Run: node --import tsx bench/frame-decode.ts [--seconds S]
//
// Streams are built from real message layouts: RowDescription + DataRows + CommandComplete +
// ReadyForQuery. Each is fed whole (one chunk per response, what a proxy reads for small results),
// in 64 KiB reads, and split into small chunks (1460 B ≈ one TCP segment, 64 B, 7 B) so frames straddle
// chunk boundaries and take the carry path. The sink only counts, as a forwarding proxy would look
// at the code and move on.
import { parseArgs } from 'node:util';
import { FrameDecoder, type FrameSink } from '../src/protocol/frame-decoder.js';

// ------------------------------------------------------------------------------------ message builders

function frame(code: string, body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(5 + body.length);
  out[0] = code.charCodeAt(0);
  out.writeInt32BE(body.length + 4, 1);
  body.copy(out, 5);
  return out;
}

const cstr = (s: string) => Buffer.from(`${s}\0`, 'utf8');

interface Column {
  name: string;
  typeOid: number;
  typeLen: number;
}

function rowDescription(cols: readonly Column[]): Buffer {
  const parts: Buffer[] = [Buffer.from([cols.length >> 8, cols.length & 0xff])];
  for (const c of cols) {
    const meta = Buffer.alloc(18);
    meta.writeInt32BE(16384, 0); // table oid
    meta.writeInt16BE(1, 4); // column attnum
    meta.writeInt32BE(c.typeOid, 6);
    meta.writeInt16BE(c.typeLen, 10);
    meta.writeInt32BE(-1, 12); // typmod
    meta.writeInt16BE(0, 16); // text format
    parts.push(cstr(c.name), meta);
  }
  return frame('T', Buffer.concat(parts));
}

function dataRow(values: readonly (string | null)[]): Buffer {
  const parts: Buffer[] = [Buffer.from([values.length >> 8, values.length & 0xff])];
  for (const v of values) {
    const len = Buffer.alloc(4);
    if (v === null) {
      len.writeInt32BE(-1, 0);
      parts.push(len);
    } else {
      const b = Buffer.from(v, 'utf8');
      len.writeInt32BE(b.length, 0);
      parts.push(len, b);
    }
  }
  return frame('D', Buffer.concat(parts));
}

const commandComplete = (tag: string) => frame('C', cstr(tag));
const readyForQuery = frame('Z', Buffer.from('I'));

/** pgbench select-only: SELECT abalance FROM pgbench_accounts WHERE aid = $1 → one int4 row. */
function pgbenchSelectResponse(i: number): Buffer {
  return Buffer.concat([
    rowDescription([{ name: 'abalance', typeOid: 23, typeLen: 4 }]),
    dataRow([String(((i * 7919) % 100_000) - 50_000)]),
    commandComplete('SELECT 1'),
    readyForQuery,
  ]);
}

/** SELECT * FROM pgbench_accounts LIMIT n: int4, int4, int4, char(84) per row. */
function accountsResponse(n: number): Buffer {
  const rows: Buffer[] = [
    rowDescription([
      { name: 'aid', typeOid: 23, typeLen: 4 },
      { name: 'bid', typeOid: 23, typeLen: 4 },
      { name: 'abalance', typeOid: 23, typeLen: 4 },
      { name: 'filler', typeOid: 1042, typeLen: -1 },
    ]),
  ];
  for (let i = 1; i <= n; i++) rows.push(dataRow([String(i), String(1 + Math.floor(i / 100_000)), String((i * 31) % 9000), ' '.repeat(84)]));
  rows.push(commandComplete(`SELECT ${n}`), readyForQuery);
  return Buffer.concat(rows);
}

/** A wide-ish application row set: 12 columns of mixed text, some NULLs. */
function appResponse(n: number): Buffer {
  const cols = ['id', 'tenant', 'email', 'name', 'status', 'created_at', 'updated_at', 'score', 'tags', 'note', 'region', 'version'];
  const rows: Buffer[] = [rowDescription(cols.map((name) => ({ name, typeOid: 25, typeLen: -1 })))];
  for (let i = 0; i < n; i++) {
    rows.push(
      dataRow([
        String(100_000 + i),
        'acme-eu',
        `user${i}@example.com`,
        `User Number ${i}`,
        i % 3 === 0 ? 'active' : 'idle',
        '2024-05-01 12:34:56.789+00',
        i % 5 === 0 ? null : '2024-06-01 08:00:00+00',
        (i * 1.25).toFixed(2),
        '{a,b,c}',
        i % 7 === 0 ? 'x'.repeat(200) : null,
        'eu-west',
        String(i % 11),
      ]),
    );
  }
  rows.push(commandComplete(`SELECT ${n}`), readyForQuery);
  return Buffer.concat(rows);
}

function chunksOf(stream: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  // Copies, so each chunk is its own allocation as a socket read would be.
  for (let i = 0; i < stream.length; i += size) out.push(Buffer.from(stream.subarray(i, Math.min(stream.length, i + size))));
  return out;
}

// ------------------------------------------------------------------------------------------ measuring

class CountingSink implements FrameSink {
  frames = 0;
  bytes = 0;
  codeSum = 0;
  onFrame(code: number, _buf: Buffer, start: number, end: number): void {
    this.frames++;
    this.bytes += end - start;
    this.codeSum += code;
  }
}

interface Scenario {
  name: string;
  chunks: Buffer[];
}

interface Measured {
  name: string;
  chunkBytes: string;
  mbPerS: number;
  framesPerS: number;
  nsPerFrame: number;
}

function measure(s: Scenario, seconds: number): Measured {
  const decoder = new FrameDecoder(64 << 20);
  const sink = new CountingSink();
  const total = s.chunks.reduce((a, c) => a + c.length, 0);
  const pass = () => {
    for (const c of s.chunks) {
      if (decoder.feed(c, sink) !== 0) throw new Error(`decode error in ${s.name}`);
    }
  };
  const warmUntil = performance.now() + Math.min(300, seconds * 300);
  while (performance.now() < warmUntil) pass();
  sink.frames = 0;
  sink.bytes = 0;
  let bytes = 0;
  const t0 = performance.now();
  const stopAt = t0 + seconds * 1000;
  let now = t0;
  while (now < stopAt) {
    for (let i = 0; i < 20; i++) pass();
    bytes += 20 * total;
    now = performance.now();
  }
  const elapsedS = (now - t0) / 1000;
  if (sink.bytes !== bytes || decoder.hasPartial) throw new Error(`${s.name}: decoded ${sink.bytes} of ${bytes} bytes`);
  const avgChunk = total / s.chunks.length;
  return {
    name: s.name,
    chunkBytes: avgChunk >= 1024 ? `${(avgChunk / 1024).toFixed(1)} KiB` : `${avgChunk.toFixed(0)} B`,
    mbPerS: bytes / 2 ** 20 / elapsedS,
    framesPerS: sink.frames / elapsedS,
    nsPerFrame: (elapsedS * 1e9) / sink.frames,
  };
}

function main(): void {
  const { values } = parseArgs({ options: { seconds: { type: 'string', default: '0.7' } } });
  const seconds = Math.min(10, Math.max(0.1, Number(values.seconds)));
  const small = Array.from({ length: 256 }, (_, i) => pgbenchSelectResponse(i));
  const accounts = accountsResponse(2000); // ~230 KiB
  const app = appResponse(1000); // ~190 KiB
  const smallStream = Buffer.concat(small);
  const scenarios: Scenario[] = [
    { name: 'pgbench select response, one per chunk (whole)', chunks: small.map((b) => Buffer.from(b)) },
    { name: 'pgbench select responses, 16 per chunk (pipelined)', chunks: chunksOf(smallStream, small[0]!.length * 16) },
    { name: 'pgbench select responses, 7 B chunks (split)', chunks: chunksOf(smallStream, 7) },
    { name: 'pgbench_accounts 2000 rows, 64 KiB reads', chunks: chunksOf(accounts, 65_536) },
    { name: 'pgbench_accounts 2000 rows, 1460 B chunks (split)', chunks: chunksOf(accounts, 1460) },
    { name: 'pgbench_accounts 2000 rows, 64 B chunks (split)', chunks: chunksOf(accounts, 64) },
    { name: 'app rows (12 text cols) 1000 rows, 64 KiB reads', chunks: chunksOf(app, 65_536) },
    { name: 'app rows (12 text cols) 1000 rows, 1460 B chunks (split)', chunks: chunksOf(app, 1460) },
  ];
  console.log(`FrameDecoder (src/protocol/frame-decoder.ts), node ${process.version}, ${seconds} s per scenario`);
  console.log(`${'scenario'.padEnd(58)} ${'chunk'.padStart(9)} ${'MB/s'.padStart(9)} ${'Mframes/s'.padStart(10)} ${'ns/frame'.padStart(9)}`);
  for (const s of scenarios) {
    const m = measure(s, seconds);
    console.log(
      `${m.name.padEnd(58)} ${m.chunkBytes.padStart(9)} ${m.mbPerS.toFixed(0).padStart(9)} ${(m.framesPerS / 1e6).toFixed(2).padStart(10)} ${m.nsPerFrame.toFixed(1).padStart(9)}`,
    );
  }
}

main();
