// The gate's baseline file (results/baselines/perf-gate.json, committed): the
// samples of every gated metric from a run of a known-good commit, with the
// configuration that produced them, the machine and the commit. A current run
// is only compared with a baseline of the same configuration: a changed
// scenario or phase length measures something else.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { cpus, hostname, loadavg, totalmem } from 'node:os';
import { REPO_ROOT } from '../../server/common/paths';
import type { MetricSamples, Rep } from './metrics';

export const BASELINE_VERSION = 1;

/** What must match between a baseline and a current run (repetitions may differ). */
export interface GateConfig {
  scenario: string;
  /** The scenario's executors, as planned (name, executor, start, duration, rate or VUs). */
  phases: string[];
  users: number;
  duration_ms: number;
  skip_s: number;
}

export interface MachineInfo {
  hostname: string;
  cpus: number;
  cpu_model: string;
  memory_gib: number;
  node: string;
  loadavg_start: number[];
  loadavg_end?: number[];
}

/** One round: `reps` repetitions in a row, normalised by that round's calibration. */
export interface GateRound {
  /** The round's calibration: the fastest ns per calibration operation of its repetitions (./calibrate.ts). */
  calibration_ns_per_op: number;
  loadavg_start: number;
  loadavg_end: number;
  reps: Rep[];
}

export interface GateRunRecord {
  version: number;
  created_at: string;
  commit: string;
  command: string;
  machine: MachineInfo;
  config: GateConfig;
  /** Samples per metric (rounds x repetitions). */
  reps: number;
  /** A baseline pools several rounds, so its spread includes how much the machine drifts between runs. */
  rounds: GateRound[];
  /** The test aid's value during the run (0 for anything used as a baseline). */
  debug_slowdown_us: number;
  samples: MetricSamples;
  elapsed_s: number;
}

export function machineInfo(): MachineInfo {
  const c = cpus();
  return {
    hostname: hostname(), cpus: c.length, cpu_model: c[0]?.model ?? 'unknown',
    memory_gib: Math.round(totalmem() / 2 ** 30), node: process.version, loadavg_start: loadavg().map(round2),
  };
}

/** HEAD's commit, with "+dirty" when the working tree has changes; "unknown" outside git. */
export function gitCommit(): string {
  try {
    const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return dirty ? `${head}+dirty` : head;
  } catch {
    return 'unknown';
  }
}

export function writeRecord(file: string, record: GateRunRecord): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(record, null, 1) + '\n');
}

export function readBaseline(file: string): GateRunRecord {
  let raw: string;
  try {
    raw = readFileSync(file, 'utf8');
  } catch {
    throw new Error(`no baseline at ${file}: record one on a known-good commit with \`make perf-gate-baseline\``);
  }
  const b = JSON.parse(raw) as GateRunRecord;
  if (b.version !== BASELINE_VERSION || typeof b.samples !== 'object' || !b.config || !Array.isArray(b.rounds)) {
    throw new Error(`${file} is not a perf-gate baseline of version ${BASELINE_VERSION}: refresh it with \`make perf-gate-baseline\``);
  }
  return b;
}

/** Why a baseline cannot be compared with a run of `config`; null when it can. */
export function configMismatch(baseline: GateConfig, config: GateConfig): string | null {
  const a = JSON.stringify(baseline);
  const b = JSON.stringify(config);
  if (a === b) return null;
  return `the baseline was measured with another configuration:\n  baseline ${a}\n  this run ${b}\n` +
    'refresh it (`make perf-gate-baseline`) or run with the baseline\'s settings';
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
