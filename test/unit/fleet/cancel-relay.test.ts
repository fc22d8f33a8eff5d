// CancelRelay (issue 17, workers): cancels passed on to other workers are bounded in flight, so a
// flood of made-up cancel keys costs at most MAX_RELAYED_CANCELS IPC round trips at a time.

import { describe, expect, it } from 'vitest';
import { CancelRelay, MAX_RELAYED_CANCELS } from '../../../src/fleet/cancel-relay.js';

describe('CancelRelay', () => {
  it('drops cancels beyond the in-flight bound, and takes more once answers come back (or fail)', async () => {
    const waiting: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
    const relay = new CancelRelay(() => new Promise<void>((resolve, reject) => waiting.push({ resolve, reject })));
    let passed = 0;
    for (let i = 0; i < MAX_RELAYED_CANCELS * 3; i++) if (relay.relay(i, i)) passed++;
    expect(passed).toBe(MAX_RELAYED_CANCELS);
    expect(relay.pending).toBe(MAX_RELAYED_CANCELS);
    waiting[0]!.resolve();
    waiting[1]!.reject(new Error('worker gone'));
    await new Promise((r) => setTimeout(r, 0));
    expect(relay.pending).toBe(MAX_RELAYED_CANCELS - 2);
    expect(relay.relay(1, 1)).toBe(true);
    expect(relay.relay(2, 2)).toBe(true);
    expect(relay.relay(3, 3)).toBe(false);
  });
});
