// The import-cycle checker (scripts/check-cycles.ts) on small fixture trees written to a temp directory:
// value, type-only, re-export and dynamic imports all count; packages, comments and strings do not.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { findImportCycles, resolveSpecifier, stronglyConnected } from '../../../scripts/check-cycles.js';

let root = '';

function tree(files: Record<string, string>): string {
  root = mkdtempSync(join(tmpdir(), 'meridian-cycles-'));
  for (const [name, text] of Object.entries(files)) {
    const p = join(root, name);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, text);
  }
  return root;
}

/** Cycles as sorted relative file lists (and check each printed path is closed and stays in its component). */
function cyclesIn(dir: string): string[][] {
  return findImportCycles([dir]).map((c) => {
    expect(c.path[0]).toBe(c.path[c.path.length - 1]);
    for (const f of c.path) expect(c.files).toContain(f);
    return c.files.map((f) => relative(dir, f));
  });
}

afterEach(() => {
  if (root !== '') rmSync(root, { recursive: true, force: true });
  root = '';
});

describe('findImportCycles', () => {
  it('finds nothing in an acyclic tree (packages, comments and strings are not imports)', () => {
    const dir = tree({
      'a.ts': "import { b } from './b.js';\nimport ts from 'typescript';\n// import { a } from './a.js';\nexport const a = b + 'import \"./a.js\"';\n",
      'b.ts': "import { c } from './sub/c.js';\nexport const b = c;\n",
      'sub/c.ts': "import { readFileSync } from 'node:fs';\nexport const c = String(readFileSync);\n",
    });
    expect(cyclesIn(dir)).toEqual([]);
  });

  it('finds a two-file cycle made by a type-only import', () => {
    const dir = tree({
      'a.ts': "import type { B } from './b.js';\nexport interface A { b: B }\n",
      'b.ts': "import { type A } from './a.js';\nexport interface B { a?: A }\n",
    });
    expect(cyclesIn(dir)).toEqual([['a.ts', 'b.ts']]);
  });

  it('finds cycles through re-exports, dynamic imports, index files and parent directories; one per component', () => {
    const dir = tree({
      'x/one.ts': "export * from '../y/index.js';\n",
      'y/index.ts': "export async function later() { return import('../x/one.js'); }\n",
      'p.ts': "import { q } from './q.js';\nexport const p = q;\n",
      'q.ts': "import { r } from './r.js';\nexport const q = r;\n",
      'r.ts': "import { p } from './p.js';\nimport { q } from './q.js';\nexport const r = p + q;\n",
      'self.ts': "import { s } from './self.js';\nexport const s = 1 + s;\n",
      'free.ts': "import { p } from './p.js';\nexport const f = p;\n",
    });
    expect(cyclesIn(dir)).toEqual([['p.ts', 'q.ts', 'r.ts'], ['self.ts'], ['x/one.ts', 'y/index.ts']]);
  });
});

describe('resolveSpecifier', () => {
  it('maps a NodeNext ./x.js to x.ts and leaves packages and missing files out', () => {
    const dir = tree({ 'a.ts': '', 'b.ts': '', 'd/index.ts': '' });
    const from = join(dir, 'a.ts');
    expect(resolveSpecifier(from, './b.js')).toBe(join(dir, 'b.ts'));
    expect(resolveSpecifier(from, './b')).toBe(join(dir, 'b.ts'));
    expect(resolveSpecifier(from, './d')).toBe(join(dir, 'd/index.ts'));
    expect(resolveSpecifier(from, './missing.js')).toBeNull();
    expect(resolveSpecifier(from, 'typescript')).toBeNull();
  });
});

describe('stronglyConnected', () => {
  it('handles a long chain without recursion limits and closes one big loop', () => {
    const n = 50_000;
    const graph = new Map<string, string[]>();
    for (let i = 0; i < n; i++) graph.set(`m${i}`, [`m${(i + 1) % n}`]);
    const components = stronglyConnected(graph);
    expect(components).toHaveLength(1);
    expect(components[0]).toHaveLength(n);
    graph.set(`m${n - 1}`, []);
    expect(stronglyConnected(graph)).toHaveLength(n);
  });
});
