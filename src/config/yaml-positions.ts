// Maps a key path of the parsed config (["cluster", "nodes", 1, "port"]) back to a line and
// column in the YAML text, so every config error can say where to look. Follows aliases and
// "<<" merge keys; when the path does not exist (a missing key), it answers with the deepest
// part that does (the mapping that lacks the key). Pure.
import { isAlias, isMap, isScalar, isSeq, type Document, type LineCounter, type Node, type YAMLMap } from 'yaml';
import type { ConfigPath } from './env-substitute.js';

export interface LineCol {
  readonly line: number; // 1-based
  readonly column: number; // 1-based
}

type AnyNode = Node | null | undefined;

function deref(node: AnyNode, doc: Document): AnyNode {
  return isAlias(node) ? (node.resolve(doc) as AnyNode) : node;
}

function keyText(key: unknown): string | null {
  if (isScalar(key)) return String(key.value);
  return typeof key === 'string' || typeof key === 'number' ? String(key) : null;
}

/** The pair for `key` in a mapping, looking through "<<" merges. */
function findPair(map: YAMLMap, key: string, doc: Document, depth = 0): { key: AnyNode; value: AnyNode } | null {
  for (const pair of map.items) {
    if (keyText(pair.key) === key) return { key: pair.key as AnyNode, value: deref(pair.value as AnyNode, doc) };
  }
  if (depth > 8) return null;
  for (const pair of map.items) {
    if (keyText(pair.key) !== '<<') continue;
    const source = deref(pair.value as AnyNode, doc);
    const sources = isSeq(source) ? source.items.map((s) => deref(s as AnyNode, doc)) : [source];
    for (const s of sources) {
      const found = isMap(s) ? findPair(s, key, doc, depth + 1) : null;
      if (found !== null) return found;
    }
  }
  return null;
}

/**
 * Offset in the source for a path. With `atKey`, answers the key's own position (for unknown
 * keys); otherwise the value's, falling back to the key when the value is empty.
 */
export function offsetOf(doc: Document, path: ConfigPath, atKey = false): number | null {
  let node: AnyNode = deref(doc.contents as AnyNode, doc);
  let best: number | null = node?.range?.[0] ?? null;
  for (let i = 0; i < path.length; i++) {
    const segment = path[i];
    const isLast = i === path.length - 1;
    if (isMap(node)) {
      const pair = findPair(node, String(segment), doc);
      if (pair === null) return best;
      const keyOffset = pair.key?.range?.[0] ?? null;
      best = isLast && atKey ? keyOffset : (pair.value?.range?.[0] ?? keyOffset ?? best);
      if (isLast && atKey) return best;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === 'number') {
      const item = deref(node.items[segment] as AnyNode, doc);
      if (item === null || item === undefined) return best;
      best = item.range?.[0] ?? best;
      node = item;
    } else {
      return best;
    }
  }
  return best;
}

/** Line and column (1-based) for a path, or null when the document has no position for it. */
export function positionOf(doc: Document, lineCounter: LineCounter, path: ConfigPath, atKey = false): LineCol | null {
  const offset = offsetOf(doc, path, atKey);
  if (offset === null) return null;
  const pos = lineCounter.linePos(offset);
  return { line: pos.line, column: pos.col };
}
