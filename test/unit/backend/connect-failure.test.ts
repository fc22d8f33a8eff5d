// A connect attempt that fails for want of a local resource (descriptors, memory, ports) is not
// the node's fault: isLocalConnectFailure must say so, so the pool manager does not report it as a
// node failure (which would evict healthy nodes under a descriptor shortage).

import { describe, expect, it } from 'vitest';
import { isLocalConnectFailure } from '../../../src/backend/connect-failure.js';
import { ConnectError } from '../../../src/backend/server-connect.js';

describe('isLocalConnectFailure', () => {
  it.each([
    ['connect EMFILE 127.0.0.1:5432 - Local (undefined:undefined)'],
    ['connect ENFILE 127.0.0.1:5432 - Local (undefined:undefined)'],
    ['connect ENOMEM 127.0.0.1:5432'],
    ['connect ENOBUFS 10.0.0.1:5432'],
    ['connect EADDRNOTAVAIL 127.0.0.1:5432 - Local (0.0.0.0:0)'],
  ])('local: %s (message as server-connect builds it)', (message) => {
    expect(isLocalConnectFailure(new ConnectError(message, null, true))).toBe(true);
  });

  it.each([
    ['connect ECONNREFUSED 127.0.0.1:5432'],
    ['read ECONNRESET'],
    ['connect timeout after 5000 ms'],
    ['connect EHOSTUNREACH 10.0.0.9:5432'],
    ['server closed the connection during startup'],
  ])('node: %s', (message) => {
    expect(isLocalConnectFailure(new ConnectError(message, null, true))).toBe(false);
  });

  it('reads an errno code on the error or its cause, and an explicit isLocal flag', () => {
    expect(isLocalConnectFailure(Object.assign(new Error('boom'), { code: 'EMFILE' }))).toBe(true);
    expect(isLocalConnectFailure(new Error('wrapped', { cause: Object.assign(new Error('x'), { code: 'ENFILE' }) }))).toBe(true);
    expect(isLocalConnectFailure(Object.assign(new Error('connect EMFILE'), { isLocal: false }))).toBe(false);
    expect(isLocalConnectFailure(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }))).toBe(false);
  });

  it("a node's own refusal is never local, whatever its text says", () => {
    const e = new ConnectError('could not open file: EMFILE', { severity: 'FATAL', code: '53000', message: 'EMFILE' }, false);
    expect(isLocalConnectFailure(e)).toBe(false);
    expect(isLocalConnectFailure(null)).toBe(false);
    expect(isLocalConnectFailure('EMFILE')).toBe(false);
  });
});
