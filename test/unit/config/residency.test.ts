import { describe, expect, it } from 'vitest';
import { cidrContains, parseAddress, parseCidr } from '../../../src/config/cidr.js';
import { matchResidency, type ResidencySession } from '../../../src/config/residency-match.js';
import type { ResidencyMatch, ResidencyRule } from '../../../src/config/types.js';
import { load, loadError, MINIMAL } from './helpers.js';

function rule(name: string, match: Partial<ResidencyMatch>, regions: string[]): ResidencyRule {
  return { name, regions, match: { user: null, database: null, applicationName: null, tenant: null, cidr: null, ...match } };
}

const session = (over: Partial<ResidencySession> = {}): ResidencySession => ({
  user: 'app', database: 'shop', applicationName: null, tenant: null, clientAddress: '192.0.2.10', ...over,
});

describe('CIDR parsing', () => {
  it.each([
    ['10.0.0.0/8', '10.255.1.2', true],
    ['10.0.0.0/8', '11.0.0.1', false],
    ['192.168.1.7/24', '192.168.1.200', true], // host bits are masked, as pg_hba does
    ['127.0.0.1', '127.0.0.1', true],
    ['127.0.0.1', '127.0.0.2', false],
    ['0.0.0.0/0', '203.0.113.9', true],
    ['2001:db8::/32', '2001:db8:ffff::1', true],
    ['2001:db8::/32', '2001:db9::1', false],
    ['::1/128', '::1', true],
    ['fe80::/10', 'fe80::1%eth0', true],
    ['127.0.0.0/8', '::ffff:127.0.0.1', true], // IPv4-mapped client address
    ['::ffff:10.0.0.0/104', '10.1.2.3', true], // IPv4-mapped rule, plain IPv4 client
    ['::/0', '10.1.2.3', true],
    ['10.0.0.0/8', '::a00:1', false], // IPv4-compatible (not mapped) is a different address
  ])('%s contains %s: %s', (cidr, address, expected) => {
    const block = parseCidr(cidr);
    const addr = parseAddress(address);
    expect(block).not.toBeNull();
    expect(addr).not.toBeNull();
    expect(cidrContains(block!, addr!)).toBe(expected);
  });

  it.each(['10.0.0.0/33', '10.0.0/8', '256.0.0.1', '01.2.3.4', '2001:db8::/129', '1::2::3', 'fe80::1%eth0', 'host', '10.0.0.0/-1', ''])(
    'rejects %j', (text) => expect(parseCidr(text)).toBeNull(),
  );

  it('parses full, compressed and dotted-tail IPv6', () => {
    expect(parseAddress('2001:0db8:0000:0000:0000:0000:0000:0001')).toBe(parseAddress('2001:db8::1'));
    expect(parseAddress('::ffff:192.0.2.1')).toBe(parseAddress('192.0.2.1'));
    expect(parseAddress('1:2:3:4:5:6:7:8:9')).toBeNull();
  });
});

describe('matchResidency', () => {
  const rules = [
    rule('eu-tenant', { tenant: 'acme' }, ['eu']),
    rule('office', { cidr: '10.0.0.0/8' }, ['us']),
    rule('office-lab', { cidr: '10.1.0.0/16' }, ['ap']),
    rule('app-acme', { user: 'app', tenant: 'acme' }, ['eu', 'us']),
    rule('v6', { cidr: '2001:db8::/32' }, ['ap']),
  ];

  it('returns null when nothing matches', () => {
    expect(matchResidency(rules, session())).toBeNull();
    expect(matchResidency([], session())).toBeNull();
  });

  it('the rule with more match keys wins', () => {
    expect(matchResidency(rules, session({ tenant: 'acme' }))?.name).toBe('app-acme');
    expect(matchResidency(rules, session({ tenant: 'acme', user: 'other' }))?.name).toBe('eu-tenant');
  });

  it('the longer CIDR prefix wins among equal key counts', () => {
    expect(matchResidency(rules, session({ clientAddress: '10.9.9.9' }))?.name).toBe('office');
    expect(matchResidency(rules, session({ clientAddress: '10.1.2.3' }))?.name).toBe('office-lab');
    expect(matchResidency(rules, session({ clientAddress: '::ffff:10.1.2.3' }))?.name).toBe('office-lab');
  });

  it('a CIDR rule beats an equal-count rule without CIDR (no CIDR counts as /0)', () => {
    expect(matchResidency(rules, session({ tenant: 'acme', user: 'x', clientAddress: '10.9.9.9' }))?.name).toBe('office');
  });

  it('matches IPv6 clients and never matches a CIDR rule without a client address', () => {
    expect(matchResidency(rules, session({ clientAddress: '2001:db8::42' }))?.name).toBe('v6');
    expect(matchResidency(rules, session({ clientAddress: null }))).toBeNull();
  });

  it('matches database and application_name exactly', () => {
    const r = [rule('db', { database: 'eu_shop' }, ['eu']), rule('app', { applicationName: 'reports' }, ['us'])];
    expect(matchResidency(r, session({ database: 'eu_shop' }))?.name).toBe('db');
    expect(matchResidency(r, session({ applicationName: 'reports' }))?.name).toBe('app');
    expect(matchResidency(r, session({ applicationName: 'Reports' }))).toBeNull();
  });

  it('works on rules loaded from YAML', () => {
    const cfg = load(`${MINIMAL}residency:\n  - { name: v6, match: { cidr: "2001:db8::/32" }, regions: [us-east] }\n`);
    expect(matchResidency(cfg.residency, session({ clientAddress: '2001:db8::1' }))?.regions).toEqual(['us-east']);
  });
});

describe('residency validation at load', () => {
  const withRules = (...lines: string[]) => `${MINIMAL}residency:\n${lines.map((l) => `  - ${l}\n`).join('')}`;

  it('rejects two rules of equal specificity that can match the same session with different regions', () => {
    const err = loadError(withRules(
      '{ name: by-user, match: { user: app }, regions: [eu-west] }',
      '{ name: by-tenant, match: { tenant: acme }, regions: [us-east] }',
    ));
    expect(err.message).toMatch(/test\.yaml:12:5: residency\[1\]: rules "by-user" \(residency\[0\]\) and "by-tenant" \(residency\[1\]\) are ambiguous/);
  });

  it('rejects equal CIDR prefixes that overlap, across IPv4 and mapped IPv6', () => {
    const err = loadError(withRules(
      '{ name: a, match: { cidr: 10.0.0.0/8 }, regions: [eu-west] }',
      '{ name: b, match: { cidr: "::ffff:10.0.0.0/104" }, regions: [us-east] }',
    ));
    expect(err.message).toMatch(/rules "a" \(residency\[0\]\) and "b" \(residency\[1\]\) are ambiguous/);
  });

  it('accepts rules that cannot overlap, differ in specificity, or agree on regions', () => {
    expect(() => load(withRules(
      '{ name: u1, match: { user: app }, regions: [eu-west] }',
      '{ name: u2, match: { user: other }, regions: [us-east] }',
    ))).not.toThrow();
    expect(() => load(withRules(
      '{ name: n1, match: { cidr: 10.0.0.0/16 }, regions: [eu-west] }',
      '{ name: n2, match: { cidr: 10.1.0.0/16 }, regions: [us-east] }',
      '{ name: n3, match: { cidr: 10.0.0.0/8 }, regions: [ap-northeast] }',
      '{ name: t1, match: { tenant: acme }, regions: [eu-west, us-east] }',
      '{ name: t2, match: { database: shop }, regions: [us-east, eu-west] }',
      '{ name: both, match: { user: app, tenant: acme }, regions: [ap-northeast] }',
    ))).not.toThrow();
  });

  it('rejects unknown regions, empty matches, bad CIDRs and duplicate names', () => {
    const err = loadError(withRules(
      '{ name: a, match: { tenant: t }, regions: [mars] }',
      '{ name: b, match: {}, regions: [eu-west] }',
      '{ name: c, match: { cidr: 10.0.0.0/40 }, regions: [eu-west] }',
    ));
    expect(err.issues.map((i) => i.path)).toEqual(['residency[2].match.cidr']);
    const err2 = loadError(withRules(
      '{ name: a, match: { tenant: t }, regions: [mars] }',
      '{ name: a, regions: [eu-west] }',
    ));
    expect(err2.issues.map((i) => `${i.path}: ${i.message}`)).toEqual([
      'residency[0].regions[0]: region "mars" has no node in cluster.nodes (regions: eu-west, us-east, ap-northeast)',
      'residency[1].match: must set at least one of user, database, application_name, tenant, cidr',
      'residency[1].name: duplicate residency rule name "a" (first defined at index 0)',
    ]);
    expect(loadError(withRules('{ name: a, match: { tenant: t }, regions: [] }')).message).toMatch(/residency\[0\]\.regions: must list at least one region/);
  });
});
