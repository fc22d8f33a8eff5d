// IpcChannel (issue 17, workers): requests answered across a pair of channels, failures carried
// back, a timeout on every request, and every pending request failed when the other side goes.

import { afterEach, describe, expect, it, vi } from 'vitest';
import { IpcChannel, type IpcMessage } from '../../../src/fleet/ipc-channel.js';

/** Two channels wired to each other; `cut` drops every message from then on. */
function pair(handler: (op: string, body: unknown) => Promise<unknown>, onEvent: (op: string, body: unknown) => void = () => {}) {
  let isCut = false;
  let b: IpcChannel | null = null;
  const a = new IpcChannel(
    (m: IpcMessage) => {
      if (!isCut) queueMicrotask(() => b!.receive(structuredClone(m)));
    },
    () => Promise.reject(new Error('a answers nothing')),
    () => {},
  );
  b = new IpcChannel(
    (m: IpcMessage) => {
      if (!isCut) queueMicrotask(() => a.receive(structuredClone(m)));
    },
    handler,
    onEvent,
  );
  return { a, b, cut: () => (isCut = true) };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('IpcChannel', () => {
  it('answers a request with the handler value, and a failure with its message', async () => {
    const { a } = pair(async (op, body) => {
      if (op === 'fail') throw new Error('no such node');
      return { op, body };
    });
    await expect(a.request('echo', { x: 1 }, 1000)).resolves.toEqual({ op: 'echo', body: { x: 1 } });
    await expect(a.request('fail', null, 1000)).rejects.toThrow('no such node');
  });

  it('delivers events in order, interleaved with answers as sent', async () => {
    const seen: unknown[] = [];
    const { a, b } = pair(async () => 'done');
    const got = new IpcChannel(
      () => {},
      async () => null,
      (op, body) => seen.push([op, body]),
    );
    got.receive({ t: 'ev', op: 'topology', body: 1 });
    got.receive({ t: 'ev', op: 'topology', body: 2 });
    got.receive({ t: 'nonsense' });
    got.receive(null);
    expect(seen).toEqual([
      ['topology', 1],
      ['topology', 2],
    ]);
    b.emit('x', null); // no handler on a: ignored, no throw
    await expect(a.request('y', null, 1000)).resolves.toBe('done');
  });

  it('fails a request that gets no answer within its timeout', async () => {
    vi.useFakeTimers();
    const { a, cut } = pair(async () => 'late');
    cut();
    const p = a.request('probe', 'n1', 250);
    const check = expect(p).rejects.toThrow('no answer to probe within 250 ms');
    await vi.advanceTimersByTimeAsync(251);
    await check;
  });

  it('fails every pending request at once when the other side goes, and refuses new ones', async () => {
    const { a, cut } = pair(() => new Promise(() => {}));
    const p1 = a.request('fanout', 'DRAIN n1', 60_000);
    const p2 = a.request('metrics', null, 60_000);
    cut();
    a.close('worker 1 exited');
    await expect(p1).rejects.toThrow('worker 1 exited');
    await expect(p2).rejects.toThrow('worker 1 exited');
    await expect(a.request('probe', 'n1', 1000)).rejects.toThrow('channel closed');
  });

  it('a send that throws (channel closed under it) fails the request, never the process', async () => {
    const c = new IpcChannel(
      () => {
        throw new Error('ERR_IPC_CHANNEL_CLOSED');
      },
      async () => null,
      () => {},
    );
    await expect(c.request('probe', 'n1', 1000)).rejects.toThrow('channel closed');
    expect(() => c.emit('evict', { node: 'n1' })).not.toThrow();
  });

  it('an event handler or request handler that throws never throws into the process', async () => {
    const faults: unknown[] = [];
    const sent: IpcMessage[] = [];
    const c = new IpcChannel(
      (m) => sent.push(m),
      () => {
        throw new Error('handler bug');
      },
      () => {
        throw new TypeError('malformed topology');
      },
      (err) => faults.push(err),
    );
    expect(() => c.receive({ t: 'ev', op: 'topology', body: null })).not.toThrow();
    expect(faults).toHaveLength(1);
    expect(() => c.receive({ t: 'req', id: 7, op: 'admin', body: 'SHOW POOLS' })).not.toThrow();
    await new Promise((r) => setTimeout(r, 0));
    expect(sent).toEqual([{ t: 'res', id: 7, ok: false, body: 'handler bug' }]);
  });
});
