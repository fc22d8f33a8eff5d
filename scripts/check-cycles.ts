// Import-cycle check for the TypeScript sources (run by `npm run lint`): reads every file's imports with the
// TypeScript compiler's pre-processor (value, type-only, re-export and dynamic imports all count: the code
// base wants no cycle at all), resolves relative specifiers to files, and finds the strongly connected
// components of the graph (Tarjan). Bare package specifiers are outside the graph. It only reads files.
//
//   node --import tsx scripts/check-cycles.ts [dir …]     # default: src; exit 1 when a cycle exists
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';

/** One cycle: the files of a strongly connected component, and one closed import path through them. */
export interface ImportCycle {
  readonly files: readonly string[];
  /** a → b → … → a (the first file again at the end) */
  readonly path: readonly string[];
}

const SOURCE_EXT = /\.(ts|tsx|mts|cts)$/;

/** Every TypeScript source under the given directories (declaration files and node_modules left out), sorted. */
export function listSources(dirs: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      if (name === 'node_modules' || name.startsWith('.')) continue;
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (SOURCE_EXT.test(name) && !name.endsWith('.d.ts')) out.push(resolve(p));
    }
  };
  for (const d of dirs) walk(d);
  return out.sort();
}

/**
 * The file a relative specifier names, or null (a package, or a file that does not exist). NodeNext
 * sources import `./x.js` for `./x.ts`; `./x` and `./dir` (index) are accepted too.
 */
export function resolveSpecifier(fromFile: string, spec: string): string | null {
  if (!spec.startsWith('./') && !spec.startsWith('../')) return null;
  const base = resolve(dirname(fromFile), spec);
  const stem = base.replace(/\.(js|jsx|mjs|cjs)$/, '');
  const ext = base.slice(stem.length);
  const tsExt = ext === '.mjs' ? '.mts' : ext === '.cjs' ? '.cts' : ext === '.jsx' ? '.tsx' : '.ts';
  const candidates = [stem + tsExt, base, `${base}.ts`, `${base}.tsx`, join(base, 'index.ts')];
  if (ext === '.js') candidates.splice(1, 0, `${stem}.tsx`);
  for (const c of candidates) if (SOURCE_EXT.test(c) && existsSync(c) && statSync(c).isFile()) return c;
  return null;
}

/** The import graph: each file → the files it imports (only files of `files`). */
export function importGraph(files: readonly string[]): Map<string, string[]> {
  const known = new Set(files);
  const graph = new Map<string, string[]>();
  for (const f of files) {
    const info = ts.preProcessFile(readFileSync(f, 'utf8'), true, true);
    const targets = new Set<string>();
    for (const imp of info.importedFiles) {
      const target = resolveSpecifier(f, imp.fileName);
      if (target !== null && known.has(target)) targets.add(target);
    }
    graph.set(f, [...targets].sort());
  }
  return graph;
}

/** Strongly connected components (Tarjan, iterative: no recursion depth limit). */
export function stronglyConnected(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const out: string[][] = [];
  let next = 0;
  for (const root of graph.keys()) {
    if (index.has(root)) continue;
    // each frame: a node and the position of the next edge to look at
    const frames: { node: string; edge: number }[] = [{ node: root, edge: 0 }];
    index.set(root, next);
    low.set(root, next++);
    stack.push(root);
    onStack.add(root);
    while (frames.length > 0) {
      const frame = frames[frames.length - 1]!;
      const edges = graph.get(frame.node) ?? [];
      if (frame.edge < edges.length) {
        const to = edges[frame.edge++]!;
        if (!index.has(to)) {
          index.set(to, next);
          low.set(to, next++);
          stack.push(to);
          onStack.add(to);
          frames.push({ node: to, edge: 0 });
        } else if (onStack.has(to)) {
          low.set(frame.node, Math.min(low.get(frame.node)!, index.get(to)!));
        }
        continue;
      }
      frames.pop();
      const parent = frames[frames.length - 1];
      if (parent !== undefined) low.set(parent.node, Math.min(low.get(parent.node)!, low.get(frame.node)!));
      if (low.get(frame.node) === index.get(frame.node)) {
        const component: string[] = [];
        let member: string;
        do {
          member = stack.pop()!;
          onStack.delete(member);
          component.push(member);
        } while (member !== frame.node);
        out.push(component.sort());
      }
    }
  }
  return out;
}

/** A shortest closed path from `start` back to itself using only edges inside `members`. */
function closedPath(graph: ReadonlyMap<string, readonly string[]>, members: ReadonlySet<string>, start: string): string[] {
  const cameFrom = new Map<string, string>();
  const queue = [start];
  for (let i = 0; i < queue.length; i++) {
    const at = queue[i]!;
    for (const to of graph.get(at) ?? []) {
      if (!members.has(to)) continue;
      if (to === start) {
        const path = [start];
        for (let p: string | undefined = at; p !== undefined && p !== start; p = cameFrom.get(p)) path.splice(1, 0, p);
        path.push(start);
        return path;
      }
      if (!cameFrom.has(to)) {
        cameFrom.set(to, at);
        queue.push(to);
      }
    }
  }
  return [start, start];
}

/** Every import cycle among the TypeScript sources under `dirs`, as absolute paths. */
export function findImportCycles(dirs: readonly string[]): ImportCycle[] {
  const graph = importGraph(listSources(dirs));
  const cycles: ImportCycle[] = [];
  for (const component of stronglyConnected(graph)) {
    const first = component[0]!;
    const isSelfImport = component.length === 1 && (graph.get(first) ?? []).includes(first);
    if (component.length < 2 && !isSelfImport) continue;
    cycles.push({ files: component, path: closedPath(graph, new Set(component), first) });
  }
  return cycles.sort((a, b) => (a.files[0]! < b.files[0]! ? -1 : 1));
}

function main(argv: readonly string[]): number {
  const dirs = argv.length > 0 ? argv : ['src'];
  const cwd = process.cwd();
  const cycles = findImportCycles(dirs);
  const files = listSources(dirs).length;
  for (const c of cycles) {
    console.log(`import cycle of ${c.files.length} file(s): ${c.files.map((f) => relative(cwd, f)).join(' ')}`);
    console.log(`  for example: ${c.path.map((f) => relative(cwd, f)).join(' → ')}`);
  }
  console.log(`${files} files under ${dirs.join(', ')}: ${cycles.length === 0 ? 'no import cycle' : `${cycles.length} import cycle(s)`}`);
  return cycles.length === 0 ? 0 : 1;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) process.exitCode = main(process.argv.slice(2));
