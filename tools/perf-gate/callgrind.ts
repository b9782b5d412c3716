// Counts the deterministic workload's instructions (./instr-workload.ts) under
// valgrind's callgrind: one run = one valgrind process over the workload
// driving the code of one tree. The workload marks each measured section by
// calling os.hostname() (callgrind zeroes its counters there) and os.uptime()
// (callgrind dumps them, one file per section: <out>.1, <out>.2, ...), so the
// process's start-up and warm-up are not counted.
//
// Node flags (measured 2026-12-06; docs/perf-gate.md):
// --predictable (no concurrent JIT or GC threads, so tier-ups and collections
// happen at the same points every run) with fixed --random-seed/--hash-seed
// made the chat section repeat within 3 instructions in 900 million over a
// short warm-up; --expose-gc lets the workload start each section from a
// collected heap. Past ~2,500 messages a major collection falls inside the
// counted part, and two of V8's GC decisions depend on the clock (which
// callgrind's slowdown and the machine's load stretch): when a task finishes
// incremental marking, and how far the heap grows after a collection (from
// measured mutator utilisation). --no-incremental-marking makes a major
// collection atomic, at an allocation limit; --predictable-gc-schedule fixes
// the growing factor. With them (and the next point), 3 runs of the chat
// section at load 8 spread 0.04%, against 1.1% over 7 runs at load 6-8
// without; the gate's 40 samples in 10 runs later spread 0.098%.
// Only the main thread is counted (--separate-threads=yes, dump "-01"): the
// platform's and libuv's threads did 0.05-0.37 M instructions of their own
// per section, a different amount each run.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { INSTR_WORKLOAD } from './instr-config';

export const VALGRIND = '/usr/bin/valgrind';
export const NODE_FLAGS = ['--predictable', '--random-seed=1', '--hash-seed=1', '--expose-gc', '--no-incremental-marking', '--predictable-gc-schedule'];
export const SECTIONS = ['chat', 'gateway', 'unit'] as const;

export interface InstrOptions {
  /** The tree whose dist/ the workload drives. */
  root: string;
  /** The driver (the candidate's dist/tools/perf-gate/instr-workload.js: the same workload for both sides). */
  driver: string;
  messages: number;
  warmup: number;
  chatWork: number;
  gatewayWork: number;
  /** A run longer than this is killed (a hang must not hold CI). */
  timeoutMs: number;
}

export interface InstrSample {
  /** Instructions per message in each section (unit: per work unit). */
  chat: number;
  gateway: number;
  unit: number;
  wall_ms: number;
}

/** The `totals:` line of one callgrind dump: every event counted (Ir only, by default). */
export function callgrindTotal(text: string): number {
  const m = /^totals:\s+(\d+)/m.exec(text) ?? /^summary:\s+(\d+)/m.exec(text);
  if (!m) throw new Error('callgrind output without a totals: line');
  return Number(m[1]);
}

export async function countInstructions(o: InstrOptions): Promise<InstrSample> {
  const dir = mkdtempSync(join(tmpdir(), 'perf-gate-cg-'));
  const outFile = join(dir, 'cg.out');
  const started = Date.now();
  try {
    const args = [
      '--tool=callgrind', `--callgrind-out-file=${outFile}`, '--separate-threads=yes',
      '--zero-before=node::os::GetHostname*', '--dump-before=node::os::GetUptime*',
      process.execPath, ...NODE_FLAGS, o.driver, '--root', o.root,
      '--messages', String(o.messages), '--warmup', String(o.warmup),
      '--chat-work', String(o.chatWork), '--gateway-work', String(o.gatewayWork),
      '--units-probe', String(INSTR_WORKLOAD.units_probe),
    ];
    const { code, stderr } = await run(VALGRIND, args, o.timeoutMs);
    if (code !== 0) throw new Error(`callgrind run of ${o.root} exited ${code}: ${stderr.split('\n').filter((l) => !l.startsWith('==')).slice(-6).join(' | ')}`);
    // One dump per section, per thread: <out>.<section>-<thread>; thread 01 is the main thread, where the workload runs.
    const totals = SECTIONS.map((_, i) => callgrindTotal(readFileSync(`${outFile}.${i + 1}-01`, 'utf8')));
    return {
      chat: totals[0]! / o.messages,
      gateway: totals[1]! / o.messages,
      unit: totals[2]! / INSTR_WORKLOAD.units_probe,
      wall_ms: Date.now() - started,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function run(cmd: string, args: string[], timeoutMs: number): Promise<{ code: number; stderr: string }> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      // Keep the tail only: a bounded buffer whatever the child prints.
      stderr = (stderr + d.toString()).slice(-16_384);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    // The gate exiting (a CI timeout's SIGTERM) takes its valgrind run with it.
    const killOnExit = (): void => { child.kill('SIGKILL'); };
    process.once('exit', killOnExit);
    child.on('error', (err) => { clearTimeout(timer); process.off('exit', killOnExit); reject(err); });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      process.off('exit', killOnExit);
      resolveRun({ code: code ?? (signal ? 128 : 1), stderr: signal === 'SIGKILL' ? `${stderr}\nkilled after ${timeoutMs} ms` : stderr });
    });
  });
}
