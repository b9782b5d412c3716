// `loadgen run`'s flag values, checked before anything is loaded or started:
// each one parsed into its type and range, or a UsageError naming the flag
// (exit 104). A flag value is outside input: "--target notaurl" used to leak
// a TypeError (exit 1), "--user-base abc" a NaN into every user id, and a bad
// --duration a plain Error. test/fuzz-cli-flags.test.ts throws any string at
// every flag.
import { parseDurationMs } from '../model/duration';
import { UsageError } from './errors';
import { targetUrlsOf } from './run-target';

/** The values node:util parseArgs gives for the flags checked here (strings, or absent). */
export interface RunFlagValues {
  driver?: string;
  transport?: string;
  scale?: string;
  duration?: string;
  users?: string;
  shard?: string;
  workers?: string;
  target?: string;
  'metrics-port'?: string;
  procs?: string;
  'start-at'?: string;
  'user-base'?: string;
  interval?: string;
  'local-addresses'?: string;
  e2ee?: string;
}

export interface RunFlags {
  driver: 'system' | 'bare';
  transport: 'lean' | 'ws';
  scale?: number;
  durationMs?: number;
  users?: number;
  shard: { index: number; count: number };
  workers?: number;
  targetUrls?: string[];
  /** null: --metrics-port off. */
  metricsPort: number | null;
  procs: number;
  startAtEpochMs?: number;
  userBase?: number;
  intervalMs?: number;
  localAddresses?: string[];
  /** --e2ee on|off: replaces the scenario's traffic.e2ee. */
  e2ee?: boolean;
}

/** --procs and --shard counts: more would be more processes or machines than one run coordinates. */
const SHARDS_MAX = 256;
const PROCS_MAX = 64;
/** Worker threads per generator process. */
const WORKERS_MAX = 256;

/** "127.0.0.1-127.0.0.8" or "127.0.0.1,127.0.0.2" -> list (loopback only). */
export function parseLocalAddresses(spec: string): string[] {
  const out: string[] = [];
  for (const part of spec.split(',').map((p) => p.trim()).filter(Boolean)) {
    const m = /^127\.(\d+)\.(\d+)\.(\d+)(?:-127\.\1\.\2\.(\d+))?$/.exec(part);
    if (!m) throw new UsageError(`--local-addresses: "${part}" is not a 127.x.y.z address or range (loopback only)`);
    const lo = Number(m[3]);
    const hi = m[4] !== undefined ? Number(m[4]) : lo;
    if (Number(m[1]) > 255 || Number(m[2]) > 255 || lo < 1 || hi > 254 || lo > hi) throw new UsageError(`--local-addresses: bad range ${part}`);
    for (let i = lo; i <= hi; i++) out.push(`127.${m[1]}.${m[2]}.${i}`);
  }
  return out;
}

export function parseShard(s: string): { index: number; count: number } {
  const m = /^(\d{1,3})\/(\d{1,3})$/.exec(s);
  if (!m) throw new UsageError(`--shard must be i/N (1-based), e.g. 1/2; got ${JSON.stringify(s.slice(0, 40))}`);
  const i = Number(m[1]);
  const n = Number(m[2]);
  if (n < 1 || n > SHARDS_MAX || i < 1 || i > n) throw new UsageError(`--shard ${s}: need 1 <= i <= N <= ${SHARDS_MAX}`);
  return { index: i - 1, count: n };
}

export function parseStartAt(s: string): number {
  const n = s.trim() === '' ? NaN : Number(s);
  const t = Number.isFinite(n) ? n : Date.parse(s);
  if (!Number.isFinite(t) || t < 0) throw new UsageError(`--start-at: ${JSON.stringify(s.slice(0, 40))} is neither epoch ms nor an ISO time`);
  return t;
}

function intFlag(flag: string, v: string, min: number, max: number): number {
  const n = v.trim() === '' ? NaN : Number(v);
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new UsageError(`${flag} must be an integer within ${min}..${max}, got ${JSON.stringify(v.slice(0, 40))}`);
  return n;
}

function durationFlag(flag: string, v: string): number {
  try {
    return parseDurationMs(v, flag);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** Every flag checked; the first bad one throws a UsageError naming it. */
export function checkRunFlags(v: RunFlagValues): RunFlags {
  const driver = v.driver ?? 'system';
  if (driver !== 'system' && driver !== 'bare') throw new UsageError('--driver must be system or bare');
  const transport = v.transport ?? 'lean';
  if (transport !== 'lean' && transport !== 'ws') throw new UsageError('--transport must be lean or ws');
  const scale = v.scale === undefined ? undefined : Number(v.scale);
  if (scale !== undefined && !(v.scale!.trim() !== '' && scale > 0 && Number.isFinite(scale))) throw new UsageError('--scale must be a number > 0');
  const users = v.users === undefined ? undefined : Number(v.users);
  if (users !== undefined && !(Number.isInteger(users) && users >= 2)) throw new UsageError('--users must be an integer >= 2');
  if (v.e2ee !== undefined && v.e2ee !== 'on' && v.e2ee !== 'off') throw new UsageError('--e2ee must be on or off');
  const metricsPort = v['metrics-port'] === undefined || v['metrics-port'] === 'off' ? (v['metrics-port'] === 'off' ? null : 0)
    : intFlag('--metrics-port', v['metrics-port'], 0, 65535);
  return {
    driver, transport, scale, users, metricsPort,
    durationMs: v.duration === undefined ? undefined : durationFlag('--duration', v.duration),
    shard: parseShard(v.shard ?? '1/1'),
    workers: v.workers === undefined ? undefined : intFlag('--workers', v.workers, 1, WORKERS_MAX),
    targetUrls: v.target ? targetUrlsOf(v.target) : undefined,
    procs: intFlag('--procs', v.procs ?? '1', 1, PROCS_MAX),
    startAtEpochMs: v['start-at'] === undefined ? undefined : parseStartAt(v['start-at']),
    userBase: v['user-base'] === undefined ? undefined : intFlag('--user-base', v['user-base'], 0, Number.MAX_SAFE_INTEGER - 2 ** 32),
    intervalMs: v.interval === undefined ? undefined : durationFlag('--interval', v.interval),
    localAddresses: v['local-addresses'] ? parseLocalAddresses(v['local-addresses']) : undefined,
    e2ee: v.e2ee === undefined ? undefined : v.e2ee === 'on',
  };
}
