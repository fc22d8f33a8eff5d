// Issue 14: the admin HTTP API's guards. The bearer compare hashes both sides, so a guess of any
// length takes the same constant-time comparison of two sha256 digests (before, a guess of the
// wrong length returned at once: the token's length leaked). The Host check refuses names other
// than loopback, the listen address and admin.http.allowed_hosts (DNS rebinding).
import { describe, expect, it, vi } from 'vitest';

const compared: number[][] = [];
vi.mock('node:crypto', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:crypto')>();
  return {
    ...real,
    timingSafeEqual: (a: NodeJS.ArrayBufferView, b: NodeJS.ArrayBufferView) => {
      compared.push([a.byteLength, b.byteLength]);
      return real.timingSafeEqual(a, b);
    },
  };
});

const { hostName, isAllowedHost, isAuthorized } = await import('../../../src/admin/http.js');

describe('isAuthorized', () => {
  it('accepts the token, refuses others', () => {
    expect(isAuthorized('Bearer s3cr3t-token', 's3cr3t-token')).toBe(true);
    expect(isAuthorized('bearer   s3cr3t-token ', 's3cr3t-token')).toBe(true);
    expect(isAuthorized('Bearer s3cr3t-tokeN', 's3cr3t-token')).toBe(false);
    expect(isAuthorized('s3cr3t-token', 's3cr3t-token')).toBe(false);
    expect(isAuthorized(undefined, 's3cr3t-token')).toBe(false);
    expect(isAuthorized('Bearer x', null)).toBe(false);
    expect(isAuthorized('Bearer ', '')).toBe(false);
  });

  it('compares two 32-byte digests whatever the length of the guess (no length leak)', () => {
    compared.length = 0;
    for (const guess of ['x', 'a much longer guess than the token is', 's3cr3t-token']) isAuthorized(`Bearer ${guess}`, 's3cr3t-token');
    expect(compared).toEqual([
      [32, 32],
      [32, 32],
      [32, 32],
    ]);
  });
});

describe('isAllowedHost', () => {
  it('loopback names, with or without a port, IPv6 in brackets', () => {
    for (const h of ['localhost', 'localhost:9187', 'LOCALHOST.', '127.0.0.1:9187', '[::1]:9187', '::1']) {
      expect(isAllowedHost(h, '127.0.0.1', []), h).toBe(true);
    }
  });

  it('the listen address unless it is a wildcard, and allowed_hosts', () => {
    expect(isAllowedHost('10.1.2.3:9187', '10.1.2.3', [])).toBe(true);
    expect(isAllowedHost('0.0.0.0:9187', '0.0.0.0', [])).toBe(false);
    expect(isAllowedHost('meridian.internal:9187', '0.0.0.0', ['Meridian.Internal'])).toBe(true);
    expect(isAllowedHost('[fd00::5]:9187', '::', ['[fd00::5]'])).toBe(true);
  });

  it('refuses a rebinding name, a missing Host, and look-alikes', () => {
    for (const h of [undefined, '', 'attacker.example', 'attacker.example:9187', 'localhost.attacker.example', '127.0.0.1.nip.io', 'evil-localhost']) {
      expect(isAllowedHost(h, '127.0.0.1', ['meridian.internal']), String(h)).toBe(false);
    }
  });

  it('hostName strips port, brackets and a trailing dot', () => {
    expect([hostName('Example.COM.:80'), hostName('[::1]:1'), hostName('fe80::1')]).toEqual(['example.com', '::1', 'fe80::1']);
  });
});
