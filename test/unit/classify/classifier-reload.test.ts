// Issue 16, bug 2 (unit side): the classifier takes routing.write_functions / read_functions and
// limits.max_parse_bytes from a reload (applyConfig). A statement classified and cached under the
// old lists is classified again under the new ones; unchanged lists keep the caches.
import { beforeAll, describe, expect, it } from 'vitest';
import { VolatilityCatalog } from '../../../src/classify/catalog.js';
import { Classifier } from '../../../src/classify/classifier.js';

const settings = (writeFunctions: string[], readFunctions: string[], maxParseBytes = 1024 * 1024) => ({
  routing: { writeFunctions, readFunctions },
  limits: { maxParseBytes },
});

beforeAll(async () => {
  await Classifier.init();
});

describe('Classifier.applyConfig', () => {
  it('new function lists apply to the next statement, cached or not', () => {
    const c = new Classifier({ catalog: new VolatilityCatalog(), writeFunctions: ['abs'] });
    const sql = 'select abs(x), my_fn() from t';
    expect(c.classify(sql).isWrite).toBe(true);
    expect(c.classify(sql).isWrite).toBe(true); // now cached
    c.applyConfig(settings([], ['my_fn']));
    expect(c.classify(sql).isWrite).toBe(false);
    c.applyConfig(settings(['MY_FN'], []));
    expect(c.classify(sql).isWrite).toBe(true);
  });

  it('the same lists (any case or order) keep the caches', () => {
    const c = new Classifier({ catalog: new VolatilityCatalog(), writeFunctions: ['a', 'b'] });
    c.classify('select a from t');
    expect(c.cacheSizes().exact).toBe(1);
    c.applyConfig(settings(['B', 'a'], []));
    expect(c.cacheSizes().exact).toBe(1);
  });

  it('limits.max_parse_bytes applies to the next statement', () => {
    const c = new Classifier({ catalog: new VolatilityCatalog() });
    const sql = `select '${'x'.repeat(200)}' from t`;
    expect(c.classify(sql).reason).not.toMatch(/max_parse_bytes/);
    c.applyConfig(settings([], [], 100));
    expect(c.classify(sql).isWrite).toBe(true);
    expect(c.classify(sql).reason).toMatch(/max_parse_bytes/);
  });
});
