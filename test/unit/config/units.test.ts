import { describe, expect, it } from 'vitest';
import { formatDurationMs, parseByteSize, parseDurationMs } from '../../../src/config/units.js';

describe('parseDurationMs', () => {
  it.each([
    ['0', 0], ['500ms', 500], ['2s', 2000], ['1m', 60_000], ['1h', 3_600_000], ['0.25s', 250], ['1h30m', 5_400_000],
    [' 3s ', 3000], [1500, 1500], [0, 0], ['1.5ms', 2],
  ])('%j → %i', (input, ms) => expect(parseDurationMs(input)).toBe(ms));

  it.each(['', 's', '2 s', '-1s', '1d', '1sm', 'ms', true, null, [], -5, Number.NaN, Infinity, '1e3'])(
    'rejects %j', (input) => expect(parseDurationMs(input)).toBeNull(),
  );

  it('formats back to the shortest exact unit', () => {
    expect([0, 250, 2000, 90_000, 120_000, 3_600_000].map(formatDurationMs)).toEqual(['0ms', '250ms', '2s', '90s', '2m', '1h']);
  });
});

describe('parseByteSize', () => {
  it.each([
    ['1024', 1024], [4096, 4096], ['64MB', 64 * 1024 ** 2], ['64MiB', 64 * 1024 ** 2], ['64M', 64 * 1024 ** 2],
    ['512kB', 512 * 1024], ['1GB', 1024 ** 3], ['10B', 10],
  ])('%j → %i', (input, bytes) => expect(parseByteSize(input)).toBe(bytes));

  it.each(['', 'MB', '1.5MB', '-1', '1TB', 1.5, true])('rejects %j', (input) => expect(parseByteSize(input)).toBeNull());
});
