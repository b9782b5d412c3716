// A reader for the Prometheus text exposition format (version 0.0.4), enough
// for our tests and tools: families with their TYPE and HELP, samples with
// labels. Not a general parser: no timestamps, no exemplars, no OpenMetrics.
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  type: string;
  help: string;
  samples: Sample[];
}

const SAMPLE_RE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\d+)?$/;
const LABEL_RE = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?\s*/gy;

export function parseExposition(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const family = (name: string): Family => {
    let f = families.get(name);
    if (!f) families.set(name, (f = { name, type: 'untyped', help: '', samples: [] }));
    return f;
  };
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    if (line.startsWith('# HELP ')) {
      const [, name, ...help] = line.split(' ').slice(1);
      family(name!).help = help.join(' ');
      continue;
    }
    if (line.startsWith('# TYPE ')) {
      const [name, type] = line.slice(7).split(' ');
      family(name!).type = type!;
      continue;
    }
    if (line.startsWith('#')) continue;
    const m = SAMPLE_RE.exec(line);
    if (!m) throw new Error(`exposition: cannot parse line: ${line}`);
    const name = m[1]!;
    const labels: Record<string, string> = {};
    if (m[3]) {
      LABEL_RE.lastIndex = 0;
      let lm: RegExpExecArray | null;
      let consumed = 0;
      while ((lm = LABEL_RE.exec(m[3])) !== null) {
        labels[lm[1]!] = lm[2]!.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
        consumed = LABEL_RE.lastIndex;
      }
      if (consumed !== m[3].length) throw new Error(`exposition: cannot parse labels of: ${line}`);
    }
    const value = m[4] === '+Inf' ? Infinity : m[4] === '-Inf' ? -Infinity : Number(m[4]);
    family(familyOf(name, families)).samples.push({ name, labels, value });
  }
  return families;
}

/** The family a sample belongs to: histogram/summary samples carry _bucket/_sum/_count suffixes. */
function familyOf(sample: string, families: Map<string, Family>): string {
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (!sample.endsWith(suffix)) continue;
    const base = sample.slice(0, -suffix.length);
    const f = families.get(base);
    if (f && (f.type === 'histogram' || f.type === 'summary')) return base;
  }
  return sample;
}

/** The exposition text without the families whose name matches `drop` (HELP, TYPE and samples). */
export function withoutFamilies(text: string, drop: (name: string) => boolean): string {
  const families = parseExposition(text);
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const comment = /^# (?:HELP|TYPE) (\S+)/.exec(line);
    const sample = comment ? null : /^([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(line);
    const name = comment ? comment[1]! : sample ? familyOf(sample[1]!, families) : null;
    if (name !== null && drop(name)) continue;
    out.push(line);
  }
  return out.join('\n');
}
