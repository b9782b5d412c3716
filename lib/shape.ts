// Shape checks for values that come from outside the process (parsed JSON,
// decoded protobuf, a scenario module's export, a command-line flag): one
// small vocabulary used at every edge, so that a value of the wrong shape is
// refused with a message naming the field ("body.phone: expected a string,
// got an object") instead of reaching code that assumes its type and throws a
// TypeError somewhere deeper, or worse, coerces it (String({toString: 1})
// throws; String(123) silently registers "123").
//
// The rule (docs/design/016-shape-checks.md): whatever arrives from outside is
// `unknown` until a check here has turned it into a typed value. Checks never
// coerce, never call a method of the value (no toString, no valueOf, no
// getters: JSON.parse builds plain objects, but a decoded or required value
// may be anything), and are bounded: strings in bytes, lists in items.
//
// A check is a function (value, path) => typed value that throws ShapeError.
// Edges that answer with an error value instead of throwing use shapeOf().
// Cost: a typeof and a comparison or two per field; a message is built only
// when a check fails.

export class ShapeError extends Error {
  override readonly name = 'ShapeError';
  constructor(readonly path: string, readonly expected: string, got: unknown) {
    super(`${path}: expected ${expected}, got ${describeValue(got)}`);
  }
}

export type Check<T> = (value: unknown, path: string) => T;
type Checked<C> = C extends Check<infer T> ? T : never;

/** What a value is, for an error message: never calls into the value. */
export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  switch (typeof v) {
    case 'string': return v.length > 40 ? `a string of ${v.length} characters` : `the string ${JSON.stringify(v)}`;
    case 'number': return Number.isFinite(v) ? `the number ${v}` : String(v);
    case 'object': return 'an object';
    case 'undefined': return 'nothing';
    default: return `a ${typeof v}`;
  }
}

/** A string of at most `bytesMax` UTF-8 bytes (and at least `bytesMin`); lone surrogates refused (`wellFormed`, default true). */
export function str(o: { bytesMax: number; bytesMin?: number; wellFormed?: boolean }): Check<string> {
  const min = o.bytesMin ?? 0;
  const expected = `a string of ${min}..${o.bytesMax} bytes`;
  return (v, path) => {
    // length <= bytes <= 3 * length: the byte count is only computed when the length cannot decide.
    if (typeof v !== 'string' || v.length > o.bytesMax) throw new ShapeError(path, expected, v);
    const bytes = v.length * 3 <= o.bytesMax && v.length >= min ? v.length : Buffer.byteLength(v);
    if (bytes > o.bytesMax || bytes < min) throw new ShapeError(path, expected, v);
    if (o.wellFormed !== false && !isWellFormed(v)) throw new ShapeError(path, 'well-formed UTF-16 (no lone surrogates)', v);
    return v;
  };
}

/** An integer within [min, max] (both within the safe integers). */
export function int(o: { min: number; max: number }): Check<number> {
  const expected = `an integer within ${o.min}..${o.max}`;
  return (v, path) => {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < o.min || v > o.max) throw new ShapeError(path, expected, v);
    return v;
  };
}

/** A finite number within [min, max]. */
export function num(o: { min: number; max: number }): Check<number> {
  const expected = `a number within ${o.min}..${o.max}`;
  return (v, path) => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < o.min || v > o.max) throw new ShapeError(path, expected, v);
    return v;
  };
}

export const bool: Check<boolean> = (v, path) => {
  if (typeof v !== 'boolean') throw new ShapeError(path, 'true or false', v);
  return v;
};

/** One of a fixed list of strings. */
export function oneOf<T extends string>(values: readonly T[]): Check<T> {
  const expected = `one of ${values.join(', ')}`;
  return (v, path) => {
    if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) throw new ShapeError(path, expected, v);
    return v as T;
  };
}

/** Absent (undefined) is allowed and stays undefined. */
export function optional<T>(check: Check<T>): Check<T | undefined> {
  return (v, path) => (v === undefined ? undefined : check(v, path));
}

/** A list of at most `itemsMax` items, each checked. */
export function list<T>(item: Check<T>, o: { itemsMax: number; itemsMin?: number }): Check<T[]> {
  const min = o.itemsMin ?? 0;
  return (v, path) => {
    if (!Array.isArray(v) || v.length > o.itemsMax || v.length < min) throw new ShapeError(path, `a list of ${min}..${o.itemsMax} items`, v);
    // An index loop, not map(): map skips the holes of a sparse array, which would pass unchecked.
    const out: T[] = new Array<T>(v.length);
    for (let i = 0; i < v.length; i++) out[i] = item(v[i], `${path}[${i}]`);
    return out;
  };
}

/** An object used as a map: at most `keysMax` keys, every value checked. */
export function record<T>(value: Check<T>, o: { keysMax: number }): Check<Record<string, T>> {
  return (v, path) => {
    if (!isPlainObject(v)) throw new ShapeError(path, 'an object', v);
    const keys = Object.keys(v);
    if (keys.length > o.keysMax) throw new ShapeError(path, `an object of at most ${o.keysMax} keys`, v);
    const out: Record<string, T> = {};
    for (const k of keys) out[k] = value(v[k], `${path}.${k}`);
    return out;
  };
}

/** The first of the checks that accepts the value; `expected` names them all for the message. */
export function either<A, B>(a: Check<A>, b: Check<B>, expected: string): Check<A | B> {
  return (v, path) => {
    for (const c of [a, b] as Check<A | B>[]) {
      const r = shapeOf(c, v, path);
      if (!(r instanceof ShapeError)) return r;
    }
    throw new ShapeError(path, expected, v);
  };
}

/** Any value that passes `test` (for the rare shape the other checks cannot say). */
export function satisfies<T>(test: (v: unknown) => v is T, expected: string): Check<T> {
  return (v, path) => {
    if (!test(v)) throw new ShapeError(path, expected, v);
    return v;
  };
}

/** A plain object (not null, not an array). */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * An object with these fields, each checked (a field that may be absent uses optional()).
 * Unknown fields are ignored unless `strict`, which refuses them by name (a typo in a config
 * file should not be silently dropped). Only own enumerable fields are read.
 */
export function obj<S extends Record<string, Check<unknown>>>(fields: S, o: { strict?: boolean } = {}): Check<{ [K in keyof S]: Checked<S[K]> }> {
  const names = Object.keys(fields);
  return (v, path) => {
    if (!isPlainObject(v)) throw new ShapeError(path, 'an object', v);
    if (o.strict) {
      for (const k of Object.keys(v)) if (!Object.hasOwn(fields, k)) throw new ShapeError(`${path}.${k}`, `no such field (known: ${names.join(', ')})`, v[k]);
    }
    const out: Record<string, unknown> = {};
    for (const k of names) {
      const value = Object.hasOwn(v, k) ? v[k] : undefined;
      const checked = fields[k]!(value, `${path}.${k}`);
      if (checked !== undefined) out[k] = checked;
    }
    return out as { [K in keyof S]: Checked<S[K]> };
  };
}

/** Run a check; the typed value, or the ShapeError (other errors are bugs and propagate). */
export function shapeOf<T>(check: Check<T>, value: unknown, path: string): T | ShapeError {
  try {
    return check(value, path);
  } catch (err) {
    if (err instanceof ShapeError) return err;
    throw err;
  }
}

/** True when `s` has no lone UTF-16 surrogate (it survives a UTF-8 round trip unchanged). */
export function isWellFormed(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdfff) continue;
    if (c > 0xdbff) return false; // a low surrogate first
    const next = s.charCodeAt(i + 1);
    if (!(next >= 0xdc00 && next <= 0xdfff)) return false;
    i++;
  }
  return true;
}
