// Residency policy (issue 14, finding 11): CIDR parsing, rule matching where every matching rule
// applies (intersection of regions), require_match, tenant claims bound to users, what a reload
// closes, and the config shapes that configure it. Pure: no sockets.
import { describe, expect, it } from 'vitest';
import { cidrContains, parseAddress, parseCidr } from '../../../src/config/cidr.js';
import {
  decideResidency, forbiddenHeldNode, matchResidency, mayClaimTenant, type ResidencySession,
} from '../../../src/config/residency-match.js';
import type { ResidencyConfig, ResidencyMatch, ResidencyRule, UserConfig } from '../../../src/config/types.js';
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


function user(name: string, tenants: string[] | null = null): UserConfig {
  return { name, password: 'x', auth: 'scram-sha-256', backendUser: name, backendPassword: 'x', maxConnections: null, tenants };
}

function policy(rules: ResidencyRule[], over: Partial<ResidencyConfig> = {}): ResidencyConfig {
  return { requireMatch: false, bindTenants: false, rules, ...over };
}

describe('matchResidency: every matching rule applies', () => {
  const rules = [
    rule('eu-tenant', { tenant: 'acme' }, ['eu']),
    rule('office', { cidr: '10.0.0.0/8' }, ['us', 'eu']),
    rule('office-lab', { cidr: '10.1.0.0/16' }, ['ap']),
    rule('app-acme', { user: 'app', tenant: 'acme' }, ['eu', 'us']),
    rule('v6', { cidr: '2001:db8::/32' }, ['ap']),
  ];

  it('returns null when nothing matches', () => {
    expect(matchResidency(rules, session())).toBeNull();
    expect(matchResidency([], session())).toBeNull();
  });

  it('a single matching rule gives its own regions', () => {
    expect(matchResidency(rules, session({ clientAddress: '10.9.9.9' }))).toMatchObject({ name: 'office', regions: ['us', 'eu'] });
    expect(matchResidency(rules, session({ clientAddress: '2001:db8::42' }))).toMatchObject({ name: 'v6', regions: ['ap'] });
  });

  it('several matching rules allow only the regions all of them allow (a more specific rule cannot widen)', () => {
    const r = matchResidency(rules, session({ tenant: 'acme' }));
    expect(r?.rules.map((x) => x.name)).toEqual(['eu-tenant', 'app-acme']);
    expect(r).toMatchObject({ name: 'eu-tenant+app-acme', regions: ['eu'] });
  });

  it('a tenant inside an allowed CIDR cannot reach another region through the CIDR rule', () => {
    // Before: "most specific wins" picked the CIDR rule here and the tenant reached us.
    expect(matchResidency(rules, session({ tenant: 'acme', user: 'other', clientAddress: '10.9.9.9' })))
      .toMatchObject({ name: 'eu-tenant+office', regions: ['eu'] });
  });

  it('nested CIDRs intersect too (a longer prefix no longer overrides): here nothing in common', () => {
    expect(matchResidency(rules, session({ clientAddress: '10.1.2.3' }))).toMatchObject({ name: 'office+office-lab', regions: [] });
    expect(matchResidency(rules, session({ clientAddress: '::ffff:10.1.2.3' }))?.regions).toEqual([]);
  });

  it('never matches a CIDR rule without a client address', () => {
    expect(matchResidency(rules, session({ clientAddress: null }))).toBeNull();
    expect(matchResidency(rules, session({ clientAddress: '' }))).toBeNull();
  });

  it('matches database and application_name exactly', () => {
    const r = [rule('db', { database: 'eu_shop' }, ['eu']), rule('app', { applicationName: 'reports' }, ['us'])];
    expect(matchResidency(r, session({ database: 'eu_shop' }))?.name).toBe('db');
    expect(matchResidency(r, session({ applicationName: 'reports' }))?.name).toBe('app');
    expect(matchResidency(r, session({ applicationName: 'Reports' }))).toBeNull();
  });

  it('duplicate regions in a rule appear once', () => {
    expect(matchResidency([rule('a', { user: 'app' }, ['eu', 'eu', 'us'])], session())?.regions).toEqual(['eu', 'us']);
  });

  it('works on rules loaded from YAML', () => {
    const cfg = load(`${MINIMAL}residency:\n  - { name: v6, match: { cidr: "2001:db8::/32" }, regions: [us-east] }\n`);
    expect(matchResidency(cfg.residency.rules, session({ clientAddress: '2001:db8::1' }))?.regions).toEqual(['us-east']);
  });
});

describe('tenant claims are bound to users', () => {
  const users = [user('app', ['acme', 'globex']), user('ops')];

  it('a user with tenants may claim only those', () => {
    const p = policy([], { bindTenants: true });
    expect(mayClaimTenant(users, p, 'app', 'acme')).toBe(true);
    expect(mayClaimTenant(users, p, 'app', 'initech')).toBe(false);
    expect(mayClaimTenant(users, p, 'app', '')).toBe(false);
    // Even with bind_tenants off: a user's own list always binds that user.
    expect(mayClaimTenant(users, policy([]), 'app', 'initech')).toBe(false);
  });

  it('a user without tenants (or not in users at all) may claim any tenant only while bind_tenants is off', () => {
    expect(mayClaimTenant(users, policy([], { bindTenants: true }), 'ops', 'acme')).toBe(false);
    expect(mayClaimTenant(users, policy([], { bindTenants: true }), 'looked-up', 'acme')).toBe(false);
    expect(mayClaimTenant(users, policy([]), 'ops', 'acme')).toBe(true);
  });

  it('decideResidency refuses a claim outside the user\'s tenants before matching any rule', () => {
    const cfg = { users, residency: policy([rule('acme', { tenant: 'acme' }, ['eu'])], { bindTenants: true }) };
    const v = decideResidency(cfg, session({ user: 'app', tenant: 'initech' }));
    expect(v).toMatchObject({ ok: false, denial: 'tenant-claim', message: expect.stringContaining('may not claim tenant "initech"') });
    expect(decideResidency(cfg, session({ user: 'app', tenant: 'acme' }))).toMatchObject({ ok: true, residency: { name: 'acme' } });
    // no claim at all is not a claim: it is judged by the rules (and require_match)
    expect(decideResidency(cfg, session({ user: 'app' }))).toEqual({ ok: true, residency: null });
  });
});

describe('decideResidency: require_match and empty intersections', () => {
  const rules = [rule('eu', { tenant: 'acme' }, ['eu']), rule('office', { cidr: '10.0.0.0/8' }, ['us'])];
  const users = [user('app')];

  it('without require_match a session no rule matches may use every node (backward compatible)', () => {
    expect(decideResidency({ users, residency: policy(rules) }, session())).toEqual({ ok: true, residency: null });
  });

  it('with require_match a session no rule matches is refused (leaving out meridian.tenant)', () => {
    const v = decideResidency({ users, residency: policy(rules, { requireMatch: true }) }, session());
    expect(v).toMatchObject({ ok: false, denial: 'no-rule', message: expect.stringContaining('require_match') });
    expect(decideResidency({ users, residency: policy(rules, { requireMatch: true }) }, session({ tenant: 'acme' })))
      .toMatchObject({ ok: true, residency: { name: 'eu', regions: ['eu'] } });
  });

  it('rules that match but share no region refuse the session, naming them', () => {
    const v = decideResidency({ users, residency: policy(rules) }, session({ tenant: 'acme', clientAddress: '10.0.0.1' }));
    expect(v).toMatchObject({ ok: false, denial: 'no-common-region', message: expect.stringContaining('"eu", "office"') });
  });
});

describe('forbiddenHeldNode (after a reload)', () => {
  const regionOf = (n: string) => ({ n1: 'eu', n2: 'us' } as Record<string, string>)[n];
  const eu = matchResidency([rule('eu', { user: 'app' }, ['eu'])], session());

  it('names a held node outside the new regions, or one the config no longer has', () => {
    expect(forbiddenHeldNode(eu, ['n1'], regionOf)).toBeNull();
    expect(forbiddenHeldNode(eu, ['n1', 'n2'], regionOf)).toBe('n2');
    expect(forbiddenHeldNode(eu, ['gone'], regionOf)).toBe('gone');
    expect(forbiddenHeldNode(eu, [], regionOf)).toBeNull();
  });

  it('an unrestricted session holds nothing forbidden', () => {
    expect(forbiddenHeldNode(null, ['n2', 'gone'], regionOf)).toBeNull();
  });
});

describe('residency config', () => {
  const withRules = (...lines: string[]) => `${MINIMAL}residency:\n${lines.map((l) => `  - ${l}\n`).join('')}`;

  it('the list form has the defaults: require_match off, bind_tenants off without users[].tenants', () => {
    const cfg = load(withRules('{ name: a, match: { tenant: t }, regions: [eu-west] }'));
    expect(cfg.residency).toMatchObject({ requireMatch: false, bindTenants: false, rules: [{ name: 'a', regions: ['eu-west'] }] });
    expect(cfg.users[0]?.tenants).toBeNull();
  });

  it('the mapping form sets require_match and bind_tenants', () => {
    const cfg = load(`${MINIMAL}residency:\n  require_match: true\n  bind_tenants: true\n  rules:\n    - { name: a, match: { tenant: t }, regions: [eu-west] }\n`);
    expect(cfg.residency).toMatchObject({ requireMatch: true, bindTenants: true, rules: [{ name: 'a' }] });
    expect(load(`${MINIMAL}residency: { require_match: true }\n`).residency).toEqual({ requireMatch: true, bindTenants: false, rules: [] });
  });

  it('bind_tenants defaults to on as soon as any user lists tenants, and can be turned off', () => {
    const withTenants = MINIMAL.replace('{ name: app, password: s3cret-app }', '{ name: app, password: s3cret-app, tenants: [acme, "7"] }\n  - { name: ops, password: s3cret-ops }');
    const cfg = load(withTenants);
    expect(cfg.users.map((u) => u.tenants)).toEqual([['acme', '7'], null]);
    expect(cfg.residency.bindTenants).toBe(true);
    expect(load(`${withTenants}residency: { bind_tenants: false }\n`).residency.bindTenants).toBe(false);
    expect(load(MINIMAL.replace('password: s3cret-app }', 'password: s3cret-app, tenants: [] }')).users[0]?.tenants).toEqual([]);
  });

  it('accepts overlapping rules with different regions (they intersect; nothing is ambiguous any more)', () => {
    expect(() => load(withRules(
      '{ name: by-user, match: { user: app }, regions: [eu-west] }',
      '{ name: by-tenant, match: { tenant: acme }, regions: [us-east] }',
      '{ name: a, match: { cidr: 10.0.0.0/8 }, regions: [eu-west] }',
      '{ name: b, match: { cidr: "::ffff:10.0.0.0/104" }, regions: [us-east] }',
    ))).not.toThrow();
  });

  it('reports errors at the path of the shape written', () => {
    expect(loadError(withRules('{ name: a, match: { tenant: t }, regions: [mars] }')).issues.map((i) => i.path)).toEqual(['residency[0].regions[0]']);
    const mapped = loadError(`${MINIMAL}residency:\n  rules:\n    - { name: a, match: { tenant: t }, regions: [mars] }\n    - { name: b, match: { cidr: 10.0.0.0/40 }, regions: [eu-west] }\n`);
    expect(mapped.issues.map((i) => i.path)).toEqual(['residency.rules[1].match.cidr']);
    const unknown = loadError(`${MINIMAL}residency: { require_matches: true }\n`);
    expect(unknown.message).toMatch(/test\.yaml:\d+:\d+: residency\.require_matches: unknown key.*require_match/);
    expect(loadError(`${MINIMAL}residency: { require_match: maybe }\n`).issues.map((i) => `${i.path}: ${i.message}`))
      .toEqual(['residency.require_match: expected true or false, got "maybe"']);
    expect(loadError(MINIMAL.replace('password: s3cret-app }', 'password: s3cret-app, tenants: acme }')).issues.map((i) => i.path)).toEqual(['users[0].tenants']);
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
    expect(loadError(withRules('{ name: "a+b", match: { tenant: t }, regions: [eu-west] }')).issues.map((i) => `${i.path}: ${i.message}`))
      .toEqual(['residency[0].name: expected a rule name without "+", got "a+b"']);
  });
});
