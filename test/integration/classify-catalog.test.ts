// Function volatility from a real server's pg_proc: a user function declared VOLATILE that
// inserts is a write; the same function redeclared STABLE (CREATE OR REPLACE) is a read once the
// catalog is refreshed. Also runs VOLATILITY_SQL itself and `meridian classify --dsn`.

import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VolatilityCatalog, VOLATILITY_SQL } from '../../src/classify/catalog.js';
import { Classifier } from '../../src/classify/classifier.js';
import { runClassifyCommand } from '../../src/classify/classify-command.js';
import { startSingleNode, uniqueName, type PgNode, type SingleCluster } from '../support/cluster.js';

let cluster: SingleCluster | undefined;
let node: PgNode;

const refreshFrom = (n: PgNode) => async (sql: string) => ({ rows: await n.query<Record<string, unknown>>(sql) });

beforeAll(async () => {
  await Classifier.init();
  cluster = await startSingleNode();
  const first = cluster.nodes[0];
  if (first === undefined) throw new Error('single-node cluster without a node');
  node = first;
});

afterAll(async () => {
  await cluster?.stop();
});

describe('classifier with a live pg_proc catalog', () => {
  it('VOLATILE inserting function → write; redeclared STABLE → read after refresh', async () => {
    const table = uniqueName('audit');
    const fn = uniqueName('record_visit');
    await node.query(`CREATE TABLE ${table} (id serial PRIMARY KEY, v text)`);
    await node.query(`CREATE FUNCTION ${fn}(v text) RETURNS int LANGUAGE sql VOLATILE AS $$ INSERT INTO ${table}(v) VALUES (v) RETURNING id $$`);
    const catalog = new VolatilityCatalog();
    expect(await catalog.refresh(refreshFrom(node))).toBe(true);
    expect(catalog.isLive).toBe(true);
    expect(catalog.volatility(`public.${fn}`)).toBe('volatile');
    const classifier = new Classifier({ catalog });

    const sql = `SELECT ${fn}('home')`;
    const asVolatile = classifier.classify(sql);
    expect(asVolatile).toMatchObject({ class: 'write', isWrite: true, functions: [fn] });
    expect(asVolatile.reason).toBe(`volatile function ${fn}`);
    // the function really writes: running it on a replica would fail with 25006
    expect(await node.query(sql)).toHaveLength(1);

    const redeclare = `CREATE OR REPLACE FUNCTION ${fn}(v text) RETURNS int LANGUAGE sql STABLE AS $$ SELECT length(v) $$`;
    expect(classifier.classify(redeclare).effects).toEqual([{ type: 'catalog-changed' }]);
    await node.query(redeclare);
    expect(classifier.classify(sql).class).toBe('write'); // not refreshed yet: still the cached answer

    const versionBefore = catalog.version;
    expect(await catalog.refresh(refreshFrom(node))).toBe(true);
    expect(catalog.version).toBe(versionBefore + 1);
    expect(catalog.volatility(fn)).toBe('stable');
    expect(classifier.classify(sql)).toMatchObject({ class: 'read', isWrite: false, functions: [fn] });
    expect(classifier.classify(`SELECT * FROM ${table} WHERE id = ${fn}('x')`).class).toBe('read');

    // an unchanged catalog keeps its version (and the classifier its caches)
    expect(await catalog.refresh(refreshFrom(node))).toBe(false);
    expect(catalog.version).toBe(versionBefore + 1);
  });

  it('VOLATILITY_SQL folds overloads to the most volatile and knows the built-ins', async () => {
    const fn = uniqueName('overloaded');
    await node.query(`CREATE FUNCTION ${fn}(a int) RETURNS int LANGUAGE sql IMMUTABLE AS $$ SELECT a $$`);
    await node.query(`CREATE FUNCTION ${fn}(a text) RETURNS text LANGUAGE sql VOLATILE AS $$ SELECT a $$`);
    const rows = await node.query<{ nspname: string; proname: string; provolatile: string }>(VOLATILITY_SQL);
    expect(rows.filter((r) => r.proname === fn)).toEqual([{ nspname: 'public', proname: fn, provolatile: 'v' }]);
    const catalog = new VolatilityCatalog();
    catalog.load(rows);
    expect(catalog.volatility('pg_catalog.now')).toBe('stable');
    expect(catalog.volatility('nextval')).toBe('volatile');
    expect(catalog.volatility('lower')).toBe('immutable');
    const classifier = new Classifier({ catalog });
    expect(classifier.classify(`SELECT ${fn}(1)`).class).toBe('write');
    expect(classifier.classify("SELECT pg_catalog.pg_postmaster_start_time(), md5('x')").class).toBe('read');
    expect(classifier.classify("SELECT to_tsvector('english', 'a b')").class).toBe('read');
  });

  it('meridian classify --dsn loads the catalog from the server', async () => {
    const fn = uniqueName('cli_fn');
    await node.query(`CREATE FUNCTION ${fn}() RETURNS int LANGUAGE sql STABLE AS $$ SELECT 1 $$`);
    const input = new PassThrough();
    const output = new PassThrough();
    const chunks: string[] = [];
    output.on('data', (c: Buffer) => chunks.push(c.toString()));
    input.end(`SELECT ${fn}()\nSELECT no_such_fn_${fn}()\n`);
    const code = await runClassifyCommand(['--dsn', node.connectionString()], input, output);
    expect(code).toBe(0);
    const lines = chunks
      .join('')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { class: string; reason: string });
    expect(lines[0]).toMatchObject({ class: 'read' });
    expect(lines[1]).toMatchObject({ class: 'write', reason: `unknown function no_such_fn_${fn} treated as write` });
  });
});
