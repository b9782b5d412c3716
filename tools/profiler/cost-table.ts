// "Where the µs go" (issue 14): the 1:1 pair load (run-pairs: send, sent ack,
// delivery, a cumulative delivered ack, the delivered receipt; no read
// receipts, as run-pairs without --read) with every process under V8's
// sampling profiler, then a table per process -- chat service, gateway, load
// generator -- of its CPU per delivered message split by bucket (our modules,
// gRPC, protobufjs, SQLite, Node's http2 and streams, GC, native code).
//
//   node dist/tools/profiler/cost-table.js [--rate 6000] [--duration 10] [--users 200] [--top 8] [--out DIR]
//   make profile-cost ARGS="--rate 6000"
//
// The per-message figure of each process is the one run-pairs measured for
// the load window (/proc CPU time over delivered messages); the profile gives
// the shares it is split by (startup's module loading left out). Profiling
// costs the processes something (sampling every ~1 ms): compare tables from
// profiled runs with each other, not with unprofiled figures.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { REPO_ROOT } from '../../server/common/paths';
import { emptyTotals, pidOfProfileFile, readCpuProfile, roleOf, STARTUP, totalsOf, type ProfileTotals } from './cpu-profile';

const ROLES = ['chat', 'gateway', 'loadgen'] as const;
type Role = (typeof ROLES)[number];
/** Bounds on the load asked for: the table is for this box's loopback, not a capacity run. */
const LIMITS = { rate_max: 50_000, duration_max_s: 120, users_max: 20_000, top_max: 50 } as const;

interface RoleTable {
  role: Role;
  cpu_us_per_msg: number;
  /** Profiled busy time per message, startup excluded (includes the profiler's own cost). */
  profiled_us_per_msg: number;
  buckets: { bucket: string; us_per_msg: number; share: number }[];
  top: { fn: string; us_per_msg: number; share: number }[];
}

function int(v: string | undefined, name: string, max: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0 || n > max) throw new Error(`${name} must be an integer in 1..${max} (got ${v})`);
  return n;
}

function main(): number {
  const { values } = parseArgs({
    options: {
      rate: { type: 'string', default: '6000' }, duration: { type: 'string', default: '10' }, users: { type: 'string', default: '200' },
      top: { type: 'string', default: '8' }, out: { type: 'string' },
    },
  });
  const rate = int(values.rate, '--rate', LIMITS.rate_max);
  const durationS = int(values.duration, '--duration', LIMITS.duration_max_s);
  const users = int(values.users, '--users', LIMITS.users_max);
  const top = int(values.top, '--top', LIMITS.top_max);
  const out = resolve(values.out ?? join(REPO_ROOT, 'results', `${new Date().toISOString().replace(/[:.]/g, '-')}-cost-table`));
  const profDir = join(out, 'cpuprofiles');
  mkdirSync(profDir, { recursive: true });
  const loadBefore = loadavg()[0]!;
  const profFlags = `--cpu-prof --cpu-prof-dir=${profDir}`;
  const run = spawnSync(process.execPath, [
    ...profFlags.split(' '), join(REPO_ROOT, 'dist/loadgen/commands/run-pairs.js'),
    '--rate', String(rate), '--duration', String(durationS), '--users', String(users), '--out', join(out, 'run'),
  ], { env: { ...process.env, WA_NODE_ARGS: profFlags }, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', timeout: (durationS + 120) * 1000 });
  if (run.status !== 0) {
    process.stdout.write(run.stdout ?? '');
    throw new Error(`run-pairs exited ${run.status ?? run.signal}`);
  }
  const summary = JSON.parse(readFileSync(join(out, 'run', 'summary.json'), 'utf8')) as {
    result: { stages: { delivered: number }[]; loadgenCpuUs: number };
    cpu_seconds: Partial<Record<Role, number>>;
  };
  const delivered = summary.result.stages[0]!.delivered;
  if (!(delivered > 0)) throw new Error('no message delivered: nothing to divide by');
  const cpuUs: Record<Role, number> = {
    chat: (summary.cpu_seconds.chat ?? 0) * 1e6, gateway: (summary.cpu_seconds.gateway ?? 0) * 1e6, loadgen: summary.result.loadgenCpuUs,
  };
  const totals = totalsByRole(profDir);
  const tables = ROLES.filter((r) => totals.has(r)).map((r) => tableOf(r, totals.get(r)!, cpuUs[r] / delivered, delivered, top));
  const report = { rate, duration_s: durationS, users, delivered, load_before: loadBefore, load_after: loadavg()[0]!, tables };
  writeFileSync(join(out, 'cost-table.json'), JSON.stringify(report, null, 2));
  console.log(render(report));
  console.log(`\n${out}/cost-table.json (profiles in ${profDir})`);
  return 0;
}

/** Every profile in `dir`, its threads summed per process, each process named by the code it ran. */
function totalsByRole(dir: string): Map<Role, ProfileTotals> {
  const byPid = new Map<number, { role: Role | null; totals: ProfileTotals }>();
  for (const name of readdirSync(dir)) {
    const pid = pidOfProfileFile(name);
    if (pid === null) continue;
    const profile = readCpuProfile(join(dir, name));
    const entry = byPid.get(pid) ?? { role: null, totals: emptyTotals() };
    entry.role ??= roleOf(profile);
    totalsOf(profile, entry.totals);
    byPid.set(pid, entry);
  }
  const out = new Map<Role, ProfileTotals>();
  for (const { role, totals } of byPid.values()) {
    if (!role) continue;
    if (out.has(role)) throw new Error(`two ${role} processes profiled: this table is for one of each`);
    out.set(role, totals);
  }
  return out;
}

function tableOf(role: Role, t: ProfileTotals, cpuUsPerMsg: number, delivered: number, top: number): RoleTable {
  const startup = t.buckets.get(STARTUP) ?? 0;
  const busy = t.busyUs - startup;
  const share = (us: number) => (busy > 0 ? us / busy : 0);
  const rows = [...t.buckets].filter(([b]) => b !== STARTUP).sort((a, b) => b[1] - a[1]);
  return {
    role, cpu_us_per_msg: cpuUsPerMsg, profiled_us_per_msg: busy / delivered,
    buckets: rows.map(([bucket, us]) => ({ bucket, us_per_msg: share(us) * cpuUsPerMsg, share: share(us) })),
    top: [...t.functions].sort((a, b) => b[1] - a[1]).slice(0, top).map(([fn, us]) => ({ fn, us_per_msg: share(us) * cpuUsPerMsg, share: share(us) })),
  };
}

function render(r: { rate: number; duration_s: number; delivered: number; load_before: number; load_after: number; tables: RoleTable[] }): string {
  const lines = [`where the µs go: run-pairs at ${r.rate} msg/s for ${r.duration_s} s, ${r.delivered} delivered, ` +
    `load average ${r.load_before.toFixed(1)} -> ${r.load_after.toFixed(1)}`];
  for (const t of r.tables) {
    lines.push('', `${t.role}: ${t.cpu_us_per_msg.toFixed(1)} µs CPU per message (profiled busy ${t.profiled_us_per_msg.toFixed(1)} µs)`);
    for (const b of t.buckets) lines.push(`  ${b.us_per_msg.toFixed(2).padStart(7)} µs  ${(100 * b.share).toFixed(1).padStart(5)}%  ${b.bucket}`);
    lines.push('  top functions (self time):');
    for (const f of t.top) lines.push(`  ${f.us_per_msg.toFixed(2).padStart(7)} µs  ${(100 * f.share).toFixed(1).padStart(5)}%  ${f.fn}`);
  }
  return lines.join('\n');
}

if (require.main === module) {
  try {
    process.exitCode = main();
  } catch (err) {
    console.error(`cost-table: ${(err as Error).message}`);
    process.exitCode = 1;
  }
}
