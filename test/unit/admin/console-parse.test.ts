// Admin console parsing: command normalization, DRAIN arguments and timeouts, the row-set
// encoding psql reads, and the HTTP bearer check.
import { describe, expect, it } from 'vitest';
import { COMMANDS, normalizeCommand } from '../../../src/admin/console.js';
import { parseDrainArgs, parseTimeout } from '../../../src/admin/drain-command.js';
import { isAuthorized } from '../../../src/admin/http.js';
import { lastMasterOf } from '../../../src/admin/last-master.js';
import { bool, int, tableFrames, tableObjects, text } from '../../../src/admin/table.js';
import { node, snap } from '../router/fixtures.js';

function commandFor(sql: string): string | null {
  const cmd = normalizeCommand(sql);
  return COMMANDS.find((c) => c.pattern.test(cmd))?.usage ?? null;
}

describe('normalizeCommand', () => {
  it.each([
    ['show nodes', 'show nodes'],
    ['  SHOW   NODES ;; ', 'SHOW NODES'],
    ['-- a comment\nshow pools;', 'show pools'],
    ['/* c */ RELOAD', 'RELOAD'],
    ['', ''],
    [';', ''],
  ])('%j → %j', (input, out) => {
    expect(normalizeCommand(input)).toBe(out);
  });

  it('keeps the SQL of EXPLAIN ROUTE as written', () => {
    expect(normalizeCommand("EXPLAIN  ROUTE select  'a  b'")).toBe("explain route select  'a  b'");
  });

  it.each([
    ['show nodes', 'SHOW NODES'],
    ['Show Clients', 'SHOW SESSIONS'],
    ['show sessions', 'SHOW SESSIONS'],
    ['drain n1 10s force', 'DRAIN <node> [<timeout>] [FORCE] [NOWAIT]'],
    ['undrain n1', 'UNDRAIN <node>'],
    ['explain route select 1', 'EXPLAIN ROUTE [FOR SESSION <id>] <sql>'],
    ['show nodesx', null],
    ['drainage', null],
    ['select 1', null],
  ])('%j dispatches to %j', (sql, usage) => {
    expect(commandFor(sql)).toBe(usage);
  });
});

describe('DRAIN arguments', () => {
  it('parses node, timeout, FORCE and NOWAIT in any order after the node', () => {
    expect(parseDrainArgs(' n1 ')).toEqual({ node: 'n1', timeoutMs: undefined, force: false, noWait: false });
    expect(parseDrainArgs('"n-1" force 2m')).toEqual({ node: 'n-1', timeoutMs: 120_000, force: true, noWait: false });
    expect(parseDrainArgs("'n1' 45 NOWAIT")).toEqual({ node: 'n1', timeoutMs: 45_000, force: false, noWait: true });
  });

  it('reads a bare number as seconds and units as in the config', () => {
    expect(parseTimeout('30')).toBe(30_000);
    expect(parseTimeout('1.5')).toBe(1500);
    expect(parseTimeout('500ms')).toBe(500);
    expect(parseTimeout('1m30s')).toBe(90_000);
  });

  it('rejects junk with a usage message', () => {
    expect(() => parseDrainArgs('')).toThrow(/usage: DRAIN/);
    expect(() => parseDrainArgs('n1 soon')).toThrow(/invalid drain timeout "soon"/);
    expect(() => parseDrainArgs('n1 10s 20s')).toThrow(/unexpected "20s"/);
  });
});

/** Splits backend frames: [code letter, body]. */
function frames(buf: Buffer): Array<[string, Buffer]> {
  const out: Array<[string, Buffer]> = [];
  for (let i = 0; i < buf.length;) {
    const len = buf.readInt32BE(i + 1);
    out.push([String.fromCharCode(buf[i]!), buf.subarray(i + 5, i + 1 + len)]);
    i += 1 + len;
  }
  return out;
}

describe('tableFrames', () => {
  it('encodes RowDescription (types), DataRows (NULL, bool, numbers) and the tag', () => {
    const t = {
      columns: [text('name'), int('n'), bool('up')],
      rows: [
        ['a', 1, true],
        [null, null, false],
      ] as const,
      tag: 'SHOW',
    };
    const f = frames(tableFrames(t));
    expect(f.map(([c]) => c)).toEqual(['T', 'D', 'D', 'C']);
    const rd = f[0]![1];
    expect(rd.readInt16BE(0)).toBe(3);
    expect(rd.toString('utf8', 2, 6)).toBe('name');
    expect(rd.readInt32BE(2 + 5 + 6)).toBe(25); // text oid after name\0, table oid, attnum
    const row2 = f[2]![1];
    expect(row2.readInt16BE(0)).toBe(3);
    expect(row2.readInt32BE(2)).toBe(-1);
    expect(row2.readInt32BE(6)).toBe(-1);
    expect(row2.readInt32BE(10)).toBe(1);
    expect(row2.toString('utf8', 14, 15)).toBe('f');
    expect(f[3]![1].toString('utf8')).toBe('SHOW\0');
    expect(tableObjects(t)).toEqual([
      { name: 'a', n: 1, up: true },
      { name: null, n: null, up: false },
    ]);
  });

  it('defaults the tag to SELECT n', () => {
    const f = frames(tableFrames({ columns: [text('x')], rows: [] }));
    expect(f.at(-1)![1].toString('utf8')).toBe('SELECT 0\0');
  });
});

describe('HTTP bearer token', () => {
  it('accepts only the exact token', () => {
    expect(isAuthorized('Bearer s3cret', 's3cret')).toBe(true);
    expect(isAuthorized('bearer   s3cret', 's3cret')).toBe(true);
    expect(isAuthorized('Bearer s3cre', 's3cret')).toBe(false);
    expect(isAuthorized('Bearer s3crett', 's3cret')).toBe(false);
    expect(isAuthorized('Basic s3cret', 's3cret')).toBe(false);
    expect(isAuthorized(undefined, 's3cret')).toBe(false);
  });

  it('refuses everyone when no token is configured', () => {
    expect(isAuthorized('Bearer ', null)).toBe(false);
    expect(isAuthorized('Bearer x', null)).toBe(false);
  });
});

describe('lastMasterOf', () => {
  const rules = [{ name: 'eu', match: { user: null, database: null, applicationName: null, tenant: 'eu', cidr: null }, regions: ['eu1', 'eu2'] }];
  it('names the rule whose regions would lose their last usable master', () => {
    const s = snap(node('a', { region: 'eu1' }), node('b', { region: 'eu2', state: 'draining' }), node('c', { region: 'us' }));
    expect(lastMasterOf(s, rules, 'a')).toEqual(['residency rule "eu" (regions eu1, eu2)']);
    expect(lastMasterOf(s, rules, 'c')).toEqual([]);
  });
  it('counts only up, active, non-split-brain masters as the others', () => {
    const s = snap(node('a', { region: 'eu1' }), node('b', { region: 'eu2', isSplitBrain: true }), node('c', { region: 'us', isUp: false }));
    expect(lastMasterOf(s, rules, 'a')).toEqual(['residency rule "eu" (regions eu1, eu2)', 'the cluster']);
  });
  it('never blocks draining a replica or a down node', () => {
    const s = snap(node('a', { region: 'eu1', role: 'replica' }), node('b', { region: 'eu1', isUp: false }));
    expect(lastMasterOf(s, rules, 'a')).toEqual([]);
    expect(lastMasterOf(s, rules, 'b')).toEqual([]);
  });
});
