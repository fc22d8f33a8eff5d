// Building blocks for the config schema: scalar fields with plain-English errors ("expected a
// duration such as 2s, got "2 sec""), sections that reject unknown keys, and lists. A YAML key
// left empty (`pool:`) or null counts as absent, so it takes its default.
import * as z from 'zod';
import { parseByteSize, parseDurationMs } from './units.js';

/** What a field parser returns for a value it cannot accept. */
export const INVALID: unique symbol = Symbol('invalid');
export type Parser<T> = (value: unknown) => T | typeof INVALID;

const REQUIRED: unique symbol = Symbol('required');

/** Short description of a value for error messages. Secrets never pass through here. */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  return `${typeof value} ${String(value)}`;
}

function scalar<T, A>(expected: string, parse: Parser<T>, absent: A | typeof REQUIRED, isSecret: boolean) {
  // optional() first: zod 4 only runs the transform for an absent key when the input side is optional.
  return z.unknown().optional().transform((value, ctx): T | A => {
    if (value === undefined || value === null) {
      if (absent !== REQUIRED) return absent;
      ctx.addIssue({ code: 'custom', message: 'is required' });
      return z.NEVER;
    }
    const parsed = parse(value);
    if (parsed === INVALID) {
      const got = isSecret ? `a ${Array.isArray(value) ? 'list' : typeof value}` : describeValue(value);
      // YAML reads `tenant: 7` or `password: 123456` as a number: say how to make it a string.
      const isQuotable = (typeof value === 'number' || typeof value === 'boolean') && parse(String(value)) !== INVALID;
      const hint = isQuotable ? ' (quote it to make it a string)' : '';
      ctx.addIssue({ code: 'custom', message: `expected ${expected}, got ${got}${hint}` });
      return z.NEVER;
    }
    return parsed;
  });
}

/** A key that must be present. */
export function required<T>(expected: string, parse: Parser<T>) {
  return scalar<T, never>(expected, parse, REQUIRED, false);
}

/** A key with a default for when it is absent or null. */
export function field<T>(expected: string, parse: Parser<T>, fallback: T) {
  return scalar<T, T>(expected, parse, fallback, false);
}

/** An optional key: null when absent. `isSecret` keeps the value out of error messages. */
export function optional<T>(expected: string, parse: Parser<T>, isSecret = false) {
  return scalar<T, null>(expected, parse, null, isSecret);
}

export const str = (pattern?: RegExp): Parser<string> => (v) =>
  typeof v === 'string' && v !== '' && (pattern === undefined || pattern.test(v)) ? v : INVALID;

const NUMERIC = /^-?\d+(?:\.\d+)?$/;

/** Numbers, also as strings (so "${PORT:-6432}" works). */
export const num = (min: number, max: number): Parser<number> => (v) => {
  const n = typeof v === 'number' ? v : typeof v === 'string' && NUMERIC.test(v.trim()) ? Number(v) : NaN;
  return Number.isFinite(n) && n >= min && n <= max ? n : INVALID;
};

export const int = (min: number, max: number): Parser<number> => (v) => {
  const n = num(min, max)(v);
  return n !== INVALID && Number.isInteger(n) ? n : INVALID;
};

export const bool: Parser<boolean> = (v) =>
  typeof v === 'boolean' ? v : v === 'true' ? true : v === 'false' ? false : INVALID;

export const oneOf = <const T extends string>(values: readonly T[]): Parser<T> => (v) =>
  typeof v === 'string' && (values as readonly string[]).includes(v) ? (v as T) : INVALID;

export const duration = (minMs = 0): Parser<number> => (v) => {
  const ms = parseDurationMs(v);
  return ms !== null && ms >= minMs ? ms : INVALID;
};

export const byteSize = (min: number, max: number): Parser<number> => (v) => {
  const n = parseByteSize(v);
  return n !== null && n >= min && n <= max ? n : INVALID;
};

export const enumText = (values: readonly string[]): string => `one of ${values.join(' | ')}`;
export const DURATION_TEXT = 'a duration such as 500ms, 2s, 1m, 1h (or a number of ms)';

/** A mapping that rejects unknown keys; absent or empty means all defaults. */
export function section<S extends z.ZodRawShape>(shape: S) {
  return z.preprocess((v) => (v === null || v === undefined ? {} : v), z.strictObject(shape));
}

/** A mapping that may be absent (then null), e.g. `tls`, `location`, `admin.http`. */
export function optionalSection<S extends z.ZodRawShape>(shape: S) {
  return z
    .preprocess((v) => (v === null ? undefined : v), z.strictObject(shape).optional())
    .transform((v) => v ?? null);
}

/** A mapping that must be present. */
export function requiredSection<S extends z.ZodRawShape>(shape: S) {
  return z.preprocess((v) => (v === null ? undefined : v), z.strictObject(shape, { error: (iss) => (iss.input === undefined ? 'is required' : undefined) }));
}

/** A list; absent or empty means []. `min` > 0 makes at least that many items required. */
export function list<T extends z.ZodType>(item: T, min = 0, what = 'item') {
  return z.preprocess(
    (v) => (v === null || v === undefined ? [] : v),
    z.array(item).min(min, { error: `must list at least ${min === 1 ? 'one' : min} ${what}` }),
  );
}

/** A list of non-empty strings. */
export function stringList(what: string) {
  return list(required(`a ${what} (a non-empty string)`, str()), 0, what);
}

/** A list that may be absent (then null, unlike list()'s []): "not set" differs from "none". */
export function optionalList<T extends z.ZodType>(item: T) {
  return z.preprocess((v) => (v === null ? undefined : v), z.array(item).optional()).transform((v) => v ?? null);
}
