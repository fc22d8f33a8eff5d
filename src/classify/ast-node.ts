// Typed access to libpg-query's JSON parse tree without `any`: every node is { TypeName: body }.

export type AstObject = Readonly<Record<string, unknown>>;

export function asObject(x: unknown): AstObject | undefined {
  return typeof x === 'object' && x !== null && !Array.isArray(x) ? (x as AstObject) : undefined;
}

export function asArray(x: unknown): readonly unknown[] {
  return Array.isArray(x) ? x : [];
}

export function asString(x: unknown): string | undefined {
  return typeof x === 'string' ? x : undefined;
}

export function asNumber(x: unknown): number | undefined {
  return typeof x === 'number' ? x : undefined;
}

/** The (type, body) of a wrapped node { Type: body }. */
export function unwrap(x: unknown): [string, AstObject] | undefined {
  const o = asObject(x);
  if (o === undefined) return undefined;
  for (const key in o) {
    const body = asObject(o[key]);
    return body === undefined ? undefined : [key, body];
  }
  return undefined;
}

/** [{String: {sval: 'a'}}, {String: {sval: 'b'}}] → "a.b". */
export function dottedName(list: unknown): string {
  let name = '';
  for (const item of asArray(list)) {
    const s = asString(asObject(asObject(item)?.['String'])?.['sval']);
    if (s === undefined) continue;
    name = name === '' ? s : `${name}.${s}`;
  }
  return name;
}

/** The value of an A_Const (or a cast of one) as text; undefined when not a constant. */
export function constantText(x: unknown): string | undefined {
  const node = unwrap(x);
  if (node === undefined) return undefined;
  const [type, body] = node;
  if (type === 'TypeCast') return constantText(body['arg']);
  // Bare value nodes, as in DefElem arguments: EXPLAIN (ANALYZE false)
  if (type === 'String') return asString(body['sval']) ?? '';
  if (type === 'Integer') return String(asNumber(body['ival']) ?? 0);
  if (type === 'Float') return asString(body['fval']) ?? '0';
  if (type === 'Boolean') return body['boolval'] === true ? 'true' : 'false';
  if (type !== 'A_Const') return undefined;
  if (body['isnull'] === true) return undefined;
  const sval = asObject(body['sval']);
  if (sval !== undefined) return asString(sval['sval']) ?? '';
  const ival = asObject(body['ival']);
  if (ival !== undefined) return String(asNumber(ival['ival']) ?? 0);
  const fval = asObject(body['fval']);
  if (fval !== undefined) return asString(fval['fval']) ?? '0';
  const boolval = asObject(body['boolval']);
  if (boolval !== undefined) return boolval['boolval'] === true ? 'true' : 'false';
  return undefined;
}

/** PostgreSQL's boolean spellings: true/false, on/off, yes/no, 1/0 and prefixes. undefined: not a boolean. */
export function booleanValue(text: string | undefined): boolean | undefined {
  if (text === undefined) return undefined;
  const t = text.trim().toLowerCase();
  if (t === '') return undefined;
  if (t === 'on' || t === '1' || 'true'.startsWith(t) || 'yes'.startsWith(t)) return true;
  if (t === 'off' || t === 'of' || t === '0' || 'false'.startsWith(t) || 'no'.startsWith(t)) return false;
  return undefined;
}
