// Function volatility decisions: configured overrides, built-in knowledge, catalog, unknown.

import { describe, expect, it } from 'vitest';
import { VolatilityCatalog } from '../../../src/classify/catalog.js';
import { Classifier } from '../../../src/classify/classifier.js';
import { FunctionPolicy } from '../../../src/classify/function-policy.js';

function catalogWith(rows: { nspname: string; proname: string; provolatile: string }[]): VolatilityCatalog {
  const catalog = new VolatilityCatalog();
  catalog.load(rows);
  return catalog;
}

describe('FunctionPolicy', () => {
  it('knows built-ins without a catalog', () => {
    const policy = new FunctionPolicy(new VolatilityCatalog());
    expect(policy.resolve('now')).toBe('read');
    expect(policy.resolve('pg_catalog.count')).toBe('read');
    expect(policy.resolve('random')).toBe('read'); // volatile but harmless
    expect(policy.resolve('pg_sleep')).toBe('read');
    expect(policy.resolve('nextval')).toBe('write');
    expect(policy.resolve('pg_catalog.setval')).toBe('write');
    expect(policy.resolve('lo_import')).toBe('write');
    expect(policy.resolve('my_fn')).toBe('unknown');
  });

  it('does not apply built-in knowledge to a user schema', () => {
    const policy = new FunctionPolicy(catalogWith([{ nspname: 'app', proname: 'now', provolatile: 'v' }]));
    expect(policy.resolve('app.now')).toBe('write');
    expect(policy.resolve('now')).toBe('read');
  });

  it('uses the catalog: qualified name, then bare name', () => {
    const policy = new FunctionPolicy(
      catalogWith([
        { nspname: 'public', proname: 'stable_fn', provolatile: 's' },
        { nspname: 'public', proname: 'vol_fn', provolatile: 'v' },
      ]),
    );
    expect(policy.resolve('stable_fn')).toBe('read');
    expect(policy.resolve('public.stable_fn')).toBe('read');
    expect(policy.resolve('other.stable_fn')).toBe('read'); // falls back to the bare name
    expect(policy.resolve('vol_fn')).toBe('write');
  });

  it('lets configured lists override everything', () => {
    const policy = new FunctionPolicy(
      catalogWith([
        { nspname: 'public', proname: 'stable_fn', provolatile: 's' },
        { nspname: 'public', proname: 'report', provolatile: 'v' },
      ]),
      ['Stable_Fn'],
      ['report', 'app.unknown_reader'],
    );
    expect(policy.resolve('stable_fn')).toBe('write');
    expect(policy.resolve('report')).toBe('read');
    expect(policy.resolve('app.unknown_reader')).toBe('read');
    expect(policy.resolve('unknown_reader')).toBe('unknown');
  });

  it('says in the reason when no live catalog was loaded', () => {
    expect(new FunctionPolicy(new VolatilityCatalog()).reasonFor('f', 'unknown')).toBe('unknown function f treated as write (no live catalog)');
    expect(new FunctionPolicy(catalogWith([])).reasonFor('f', 'unknown')).toBe('unknown function f treated as write');
    expect(new FunctionPolicy(catalogWith([])).reasonFor('f', 'write')).toBe('volatile function f');
  });
});

describe('Classifier with function overrides', () => {
  it('routes configured functions as told', async () => {
    await Classifier.init();
    const classifier = new Classifier({ catalog: new VolatilityCatalog(), writeFunctions: ['lower'], readFunctions: ['report_fn'] });
    expect(classifier.classify('SELECT lower(x) FROM t').class).toBe('write');
    expect(classifier.classify('SELECT report_fn(1)').class).toBe('read');
    expect(classifier.classify('SELECT other_fn(1)').reason).toBe('unknown function other_fn treated as write (no live catalog)');
  });
});
