// Reading V8 .cpuprofile files (node --cpu-prof) into "where the µs go":
// each sample's self time is put in one bucket (our module, an npm package, a
// Node internal, the GC, native code), and a process's buckets are summed over
// its threads. Startup (module loading) is its own bucket, so a caller can
// leave it out of a per-message figure: a profile covers the process's whole
// life, the messages only the measured window.
import { readFileSync } from 'node:fs';

/** The parts of a .cpuprofile this reader uses (V8's Profiler.Profile). */
export interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileTotals {
  /** Bucket -> self time, µs. */
  buckets: Map<string, number>;
  /** "function file:line" -> self time, µs. */
  functions: Map<string, number>;
  /** Every sample's time but idle, µs. */
  busyUs: number;
  idleUs: number;
}

/** The bucket of startup work: excluded from per-message figures. */
export const STARTUP = 'startup (module loading)';
const STARTUP_FUNCTIONS = new Set(['wrapSafe', 'compileForInternalLoader', 'readFileUtf8', 'internalModuleStat', 'Module._load', 'Module']);

export function readCpuProfile(path: string): CpuProfile {
  const p = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  if (!Array.isArray(p.nodes) || !Array.isArray(p.samples) || !Array.isArray(p.timeDeltas)) throw new Error(`${path}: not a V8 cpu profile`);
  return p;
}

/** The bucket one call frame's self time goes to. */
export function bucketOf(functionName: string, url: string): string {
  if (!url) {
    if (functionName === '(garbage collector)') return 'GC';
    if (functionName === '(program)') return 'native, not attributed (syscalls, libuv, addons)';
    if (STARTUP_FUNCTIONS.has(functionName)) return STARTUP;
    // protobufjs compiles its codecs with new Function(): no url, names like Type$encode.
    if (/\$(encode|decode|verify)$/.test(functionName)) return 'npm protobufjs (generated codecs)';
    return 'native (V8 builtins and bindings)';
  }
  if (url.includes('node_modules/')) {
    const rest = url.split('node_modules/').pop()!.split('/');
    return `npm ${rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]}`;
  }
  if (url.startsWith('node:')) {
    if (/modules\/|bootstrap|realm/.test(url) || STARTUP_FUNCTIONS.has(functionName)) return STARTUP;
    if (url.includes('http2')) return 'node http2';
    if (url.includes('streams')) return 'node streams';
    return 'node (other internals)';
  }
  const ours = /\/dist\/(.+)$/.exec(url);
  if (ours) {
    const parts = ours[1]!.split('/');
    return `ours ${parts.length > 2 ? parts.slice(0, 2).join('/') : parts[0]}`;
  }
  return 'other';
}

/** Self time per bucket and per function of one profile (one thread). */
export function totalsOf(profile: CpuProfile, into: ProfileTotals = emptyTotals()): ProfileTotals {
  const byId = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  for (let i = 0; i < profile.samples.length; i++) {
    const frame = byId.get(profile.samples[i]!);
    const dt = profile.timeDeltas[i] ?? 0;
    if (!frame || dt <= 0) continue;
    if (frame.functionName === '(idle)') {
      into.idleUs += dt;
      continue;
    }
    into.busyUs += dt;
    const bucket = bucketOf(frame.functionName, frame.url);
    into.buckets.set(bucket, (into.buckets.get(bucket) ?? 0) + dt);
    if (bucket === STARTUP) continue;
    const fn = `${frame.functionName || '(anonymous)'} ${frame.url.split('/').slice(-2).join('/')}:${frame.lineNumber + 1}`;
    into.functions.set(fn, (into.functions.get(fn) ?? 0) + dt);
  }
  return into;
}

export function emptyTotals(): ProfileTotals {
  return { buckets: new Map(), functions: new Map(), busyUs: 0, idleUs: 0 };
}

/** Which process a profile came from, by the code it ran: the chat service, a gateway, the load generator. */
export function roleOf(profile: CpuProfile): 'chat' | 'gateway' | 'loadgen' | null {
  const urls = profile.nodes.map((n) => n.callFrame.url);
  if (urls.some((u) => u.includes('/dist/server/gateway/'))) return 'gateway';
  if (urls.some((u) => u.includes('/dist/server/chat/'))) return 'chat';
  if (urls.some((u) => u.includes('/dist/loadgen/'))) return 'loadgen';
  return null;
}

/** The pid in a --cpu-prof file name (CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile). */
export function pidOfProfileFile(name: string): number | null {
  const m = /^CPU\.\d+\.\d+\.(\d+)\.\d+\.\d+\.cpuprofile$/.exec(name);
  return m ? Number(m[1]) : null;
}
