// Secrets never reach an output file. The token secret (--secret,
// WA_TOKEN_SECRET) signs every user's token: with it anyone can act as any
// user of the system under test, so it must not land in summary.json,
// summary.txt, junit.xml or report.html, which are shared, attached to CI runs
// and committed as references. Two layers: the command line recorded in a
// summary has its secret flags' values replaced, and every string of the
// summary is scrubbed of each secret's value before any output writes it
// (a scenario's label, an error message, anything that might echo it).
import type { Output } from '../engine/output';
import type { RunSummary } from '../engine/summary';

export const REDACTED = '[redacted]';

/** Flags whose value is a secret. */
const SECRET_FLAGS = ['--secret'];

/** argv with each secret flag's value replaced ("--secret x" and "--secret=x"). */
export function redactArgv(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const eq = a.indexOf('=');
    if (eq > 0 && SECRET_FLAGS.includes(a.slice(0, eq))) {
      out.push(`${a.slice(0, eq)}=${REDACTED}`);
    } else if (SECRET_FLAGS.includes(a) && i + 1 < argv.length) {
      out.push(a, REDACTED);
      i++;
    } else {
      out.push(a);
    }
  }
  return out;
}

/** The secrets to scrub: the non-empty ones (an empty string would match everywhere). */
export function secretsOf(...candidates: (string | undefined)[]): string[] {
  return [...new Set(candidates.filter((s): s is string => typeof s === 'string' && s.length > 0))];
}

/** A deep copy of `value` with every occurrence of each secret in any string (keys too) replaced. */
export function scrub<T>(value: T, secrets: readonly string[]): T {
  if (secrets.length === 0) return value;
  const fix = (s: string): string => {
    let out = s;
    for (const secret of secrets) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
    return out;
  };
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return fix(v);
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[fix(k)] = walk(x);
      return out;
    }
    return v;
  };
  return walk(value) as T;
}

/** `out`, writing a scrubbed summary. */
export function redactingOutput(out: Output, secrets: readonly string[]): Output {
  if (secrets.length === 0 || !out.end) return out;
  const end = out.end.bind(out);
  return { ...out, name: out.name, end: (summary: RunSummary, outDir: string) => end(scrub(summary, secrets), outDir) };
}
