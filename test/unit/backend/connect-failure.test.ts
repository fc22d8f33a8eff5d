// A connect attempt that fails for want of a local resource (descriptors, memory, ports) is not
// the node's fault: isLocalConnectFailure must say so, so the pool manager does not report it as a
// node failure (which would evict healthy nodes under a descriptor shortage).

import { describe, expect, it } from 'vitest';
import { isLocalConnectFailure, isNodeUnavailable } from '../../../src/backend/connect-failure.js';
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

describe('isNodeUnavailable: a failed connect after which the request may go to another node', () => {
  const server = (code: string) => ({ severity: 'FATAL', code, message: `the node says ${code}` });
  it.each([
    ['refused', new ConnectError('connect ECONNREFUSED 127.0.0.1:5432', null, true), true],
    ['closed during startup', new ConnectError('server closed the connection during startup', null, true), true],
    ['connect timeout', new ConnectError('connect timeout after 5000 ms', null, true), true],
    ['shutting down (57P01)', new ConnectError('terminating', server('57P01'), false), true],
    ['starting up (57P03)', new ConnectError('the database system is starting up', server('57P03'), false), true],
    ['wrong password (28P01)', new ConnectError('password authentication failed', server('28P01'), false), false],
    ['too many connections (53300)', new ConnectError('sorry, too many clients already', server('53300'), false), false],
    ['no such database (3D000)', new ConnectError('database "x" does not exist', server('3D000'), false), false],
    ['local: out of descriptors', new ConnectError('connect EMFILE 127.0.0.1:5432 - Local (undefined:undefined)', null, true), false],
    ['a bad SCRAM signature', new ConnectError('server SCRAM signature did not verify', null, false), false],
  ] as const)('%s → %s', (_what, err, expected) => {
    expect(isNodeUnavailable(err)).toBe(expected);
  });
  it('anything that is not a connect error → false', () => {
    expect(isNodeUnavailable(null)).toBe(false);
    expect(isNodeUnavailable(new Error('x'))).toBe(false);
  });
});
