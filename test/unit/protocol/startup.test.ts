import { describe, expect, it } from 'vitest';
import { serialize } from 'pg-protocol';
import { decodeStartup, parseStartupOptions } from '../../../src/protocol/startup.js';

describe('decodeStartup', () => {
  it('decodes a StartupMessage with its parameters', () => {
    const b = serialize.startup({ user: 'app', database: 'db', application_name: 'x' });
    const p = decodeStartup(b, b.length);
    expect(p.kind).toBe('startup');
    if (p.kind === 'startup') expect(Object.fromEntries(p.params)).toMatchObject({ user: 'app', database: 'db', application_name: 'x' });
  });

  it('recognises SSLRequest and CancelRequest', () => {
    const ssl = serialize.requestSsl();
    expect(decodeStartup(ssl, ssl.length).kind).toBe('ssl');
    const c = serialize.cancel(123, 456);
    expect(decodeStartup(c, c.length)).toEqual({ kind: 'cancel', pid: 123, secret: 456 });
  });

  it('rejects protocol 2.0 and 3.2 with their version', () => {
    const b = Buffer.alloc(9);
    b.writeInt32BE(9, 0);
    b.writeInt32BE(2 << 16, 4);
    expect(decodeStartup(b, 9)).toEqual({ kind: 'unsupported', version: 2 << 16 });
    b.writeInt32BE((3 << 16) | 2, 4);
    expect(decodeStartup(b, 9).kind).toBe('unsupported');
  });

  it('flags a startup packet without its terminator', () => {
    const b = serialize.startup({ user: 'app' });
    const cut = Buffer.from(b.subarray(0, b.length - 1));
    cut.writeInt32BE(cut.length, 0);
    expect(decodeStartup(cut, cut.length).kind).toBe('invalid');
  });
});

describe('parseStartupOptions', () => {
  it('splits -c settings, escaped spaces and --name=value forms', () => {
    const o = parseStartupOptions('-c search_path=a\\ b -cTimeZone=UTC --meridian.route=replica -c meridian.tenant=eu1');
    expect(Object.fromEntries(o)).toEqual({ search_path: 'a b', timezone: 'UTC', 'meridian.route': 'replica', 'meridian.tenant': 'eu1' });
  });
});
