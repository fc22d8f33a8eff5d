// lostBackendAction: what a session does when the backend of its request is lost.
import { describe, expect, it } from 'vitest';
import { lostBackendAction, type LostBackend } from '../../../src/frontend/session-failure.js';

const base: LostBackend = {
  hasFatal: false,
  isSessionPooled: false,
  isPinned: false,
  wasInTx: false,
  isUnsent: false,
  hasRetried: false,
  isRetryableRead: false,
  isTerminatedWrite: false,
  syncPoints: 1,
};

describe('lostBackendAction', () => {
  it.each<[string, Partial<LostBackend>, string]>([
    ['session pooling, the server said FATAL', { hasFatal: true, isSessionPooled: true }, 'end-as-server'],
    ['a pinned session', { isPinned: true }, 'close-pinned'],
    ['a transaction ended by the server', { wasInTx: true, hasFatal: true }, 'end-as-server'],
    ['a transaction cut', { wasInTx: true }, 'close-in-tx'],
    ['not sent yet', { isUnsent: true }, 'retry'],
    ['not sent yet, retried once already', { isUnsent: true, hasRetried: true }, 'fail'],
    ['an autocommit read with nothing relayed', { isRetryableRead: true }, 'retry'],
    ['an autocommit write the server ended (57P01) before it ran', { hasFatal: true, isTerminatedWrite: true }, 'retry'],
    ['the same, retried once already', { hasFatal: true, isTerminatedWrite: true, hasRetried: true }, 'fail'],
    ['an autocommit write lost otherwise', { hasFatal: true }, 'fail'],
    ['a terminated write in a pinned session', { hasFatal: true, isTerminatedWrite: true, isPinned: true }, 'close-pinned'],
  ])('%s → %s', (_what, over, action) => {
    expect(lostBackendAction({ ...base, ...over })).toBe(action);
  });
});
