// `meridian classify`: stdin lines or a JSON array in, one JSON line per statement out.

import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { runClassifyCommand } from '../../../src/classify/classify-command.js';

async function run(args: string[], stdin: string): Promise<{ code: number; lines: string[] }> {
  const input = new PassThrough();
  const output = new PassThrough();
  const chunks: Buffer[] = [];
  output.on('data', (c: Buffer) => chunks.push(c));
  input.end(stdin);
  const code = await runClassifyCommand(args, input, output);
  return {
    code,
    lines: Buffer.concat(chunks)
      .toString('utf8')
      .split('\n')
      .filter((l) => l !== ''),
  };
}

describe('meridian classify', () => {
  it('classifies one statement per line, skipping blank lines', async () => {
    const { code, lines } = await run([], 'SELECT 1\n\nSELECT my_fn()\n/* meridian: node=n2 */ LISTEN ch\nBEGIN READ ONLY\n');
    expect(code).toBe(0);
    expect(lines.map((l) => JSON.parse(l))).toEqual([
      { sql: 'SELECT 1', class: 'read', readOnly: false, pin: null, hint: null, functions: [], reason: 'select' },
      {
        sql: 'SELECT my_fn()',
        class: 'write',
        readOnly: false,
        pin: null,
        hint: null,
        functions: ['my_fn'],
        reason: 'unknown function my_fn treated as write (no live catalog)',
      },
      { sql: '/* meridian: node=n2 */ LISTEN ch', class: 'session', readOnly: false, pin: 'listen', hint: 'node=n2', functions: [], reason: 'listen' },
      { sql: 'BEGIN READ ONLY', class: 'tx-begin', readOnly: true, pin: null, hint: null, functions: [], reason: 'begin read only' },
    ]);
  });

  it('reads a JSON array with --json (multi-line statements)', async () => {
    const { code, lines } = await run(['--json'], JSON.stringify(["SELECT nextval('s')", 'CREATE TEMP TABLE t\n(a int)']));
    expect(code).toBe(0);
    expect(JSON.parse(lines[0] ?? '{}')).toMatchObject({ class: 'write', functions: ['nextval'] });
    expect(JSON.parse(lines[1] ?? '{}')).toMatchObject({ class: 'write', pin: 'temp-table' });
  });

  it('applies --read-functions / --write-functions', async () => {
    const { lines } = await run(['--read-functions', 'my_fn', '--write-functions', 'lower'], 'SELECT my_fn()\nSELECT lower(x)\n');
    expect(lines.map((l) => (JSON.parse(l) as { class: string }).class)).toEqual(['read', 'write']);
  });

  it('refuses bad input and bad flags with exit code 2', async () => {
    expect((await run(['--json'], '{"not": "an array"}')).code).toBe(2);
    expect((await run(['--json'], '[1, 2]')).code).toBe(2);
    expect((await run(['--nope'], '')).code).toBe(2);
  });

  it('prints usage with --help', async () => {
    const { code, lines } = await run(['--help'], '');
    expect(code).toBe(0);
    expect(lines[0]).toMatch(/usage: meridian classify/);
  });

  it('fails with exit code 1 when --dsn cannot be reached', async () => {
    const { code, lines } = await run(['--dsn', 'postgres://postgres@127.0.0.1:1/app'], 'SELECT 1\n');
    expect(code).toBe(1);
    expect(lines[0]).toMatch(/cannot load the function catalog/);
  });
});
