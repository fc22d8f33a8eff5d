// The `workers` setting (issue 17): default 1, a count or `auto` (the number of cores), anything
// else refused naming the key; a change needs a restart (a reload says so and keeps it).

import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { describeReload } from '../../../src/config/reload-diff.js';
import { configRows } from '../../../src/config/show-config.js';
import { load, loadError, MINIMAL } from './helpers.js';

describe('workers', () => {
  it('defaults to 1 (one process, no fork)', () => {
    expect(load(MINIMAL).workers).toBe(1);
  });

  it('takes a count, or auto for the number of cores', () => {
    expect(load(`${MINIMAL}workers: 4\n`).workers).toBe(4);
    expect(load(`${MINIMAL}workers: auto\n`).workers).toBe(Math.max(1, availableParallelism()));
  });

  it.each(['0', '-1', '2.5', '1025', 'many', '[2]'])('refuses workers: %s naming the key', (v) => {
    expect(loadError(`${MINIMAL}workers: ${v}\n`).message).toMatch(/workers.*expected an integer from 1 to 1024, or auto/s);
  });

  it('is restart-only: a reload reports it as needing a restart; SHOW CONFIG says restart', () => {
    const diff = describeReload(load(MINIMAL), load(`${MINIMAL}workers: 2\n`));
    expect(diff.changes).toEqual(['workers']);
    expect(diff.needsRestart).toEqual(['workers']);
    expect(configRows(load(MINIMAL)).find((r) => r.key === 'workers')).toEqual({ key: 'workers', value: '1', reload: 'restart' });
  });
});
