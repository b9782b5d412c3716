// One `loadgen run <scenario> --topology GxM` as a child process, for the
// benches that compare topologies (coordination.ts, process-scaling.ts): the
// summary's plan window and per-interval timeline (with each server process's
// CPU, `system_cpu_s`), the run's own folder removed afterwards. Asynchronous,
// so the bench's process keeps its event loop; killed past its time bound.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TopologyRunSummary {
  plan: { windowMs: number };
  timeline: { t_s: number; counters: Record<string, number>; system_cpu_s?: Record<string, number> }[];
}

export interface TopologyRun {
  scenario: string;
  topology: string;
  durationS: number;
  scale: number;
  /** Further `loadgen run` flags (e.g. --store cassandra --cassandra-cluster DIR). */
  extra?: string[];
  /** Time for setup on top of the run's duration before it is killed. */
  setupTimeoutS: number;
}

export async function runTopology(o: TopologyRun): Promise<TopologyRunSummary> {
  const out = mkdtempSync(join(tmpdir(), 'wa-topology-run-'));
  try {
    const cli = join(__dirname, '..', 'loadgen', 'commands', 'cli.js');
    const scenario = join(__dirname, '..', '..', 'scenarios', `${o.scenario}.ts`);
    const r = await spawnRun([cli, 'run', scenario, '--topology', o.topology, ...(o.extra ?? []), '--duration', `${o.durationS}s`, '--scale', String(o.scale),
      '--quiet', '--metrics-port', 'off', '--out', out], (o.durationS + o.setupTimeoutS) * 1000);
    if (r.status !== 0 && r.status !== 99) throw new Error(`loadgen run --topology ${o.topology} exited ${r.status}: ${r.stderr.slice(-1500)}`);
    return JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as TopologyRunSummary;
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

function spawnRun(args: string[], timeoutMs: number): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-20_000);
    });
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.on('exit', (status) => {
      clearTimeout(timer);
      resolve({ status, stderr });
    });
  });
}

/**
 * The steady part of a run: past the first `warmupS` seconds, up to the end of the scheduled window (the
 * grace after it is drain-out). Acknowledged sends and each server process's CPU seconds over it.
 */
export function steadyWindow(s: TopologyRunSummary, warmupS: number, topology: string): { ok: number; cpuS: Map<string, number> } {
  let ok = 0;
  const cpuS = new Map<string, number>();
  for (const rec of s.timeline) {
    if (rec.t_s <= warmupS || rec.t_s > s.plan.windowMs / 1000) continue;
    if (!rec.system_cpu_s) throw new Error(`the run's timeline has no system_cpu_s at ${rec.t_s} s`);
    ok += rec.counters.sends_ok ?? 0;
    for (const [name, cpu] of Object.entries(rec.system_cpu_s)) cpuS.set(name, (cpuS.get(name) ?? 0) + cpu);
  }
  if (ok === 0) throw new Error(`--topology ${topology}: no acknowledged send past the ${warmupS} s warm-up`);
  return { ok, cpuS };
}
