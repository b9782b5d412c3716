// The gate's calibration: how fast this machine runs a fixed CPU workload,
// measured in the same run as the system, so the system's CPU per message can
// be expressed in "calibration operations" and compared across machines.
//
// The workload is fixed code that no commit of ours changes (JSON encode and
// decode of a message-sized object, an HMAC-SHA256 of 100 bytes, Map and Buffer
// churn: the kinds of work a message costs the server), run in a fresh Node
// process (no JIT state shared with anything else), in many short rounds of
// which the fastest is kept: a neighbour, a preemption or a GC only ever adds
// time, so the fastest round is the machine's speed.
//
// Why not the bare uWS forwarder's CPU per message: driven by one generator
// thread, its batches (so its per-message cost) follow the generator's speed;
// on this 2-core machine it varied by +-15% between repetitions, more than the
// regressions the gate must catch (docs/perf-gate.md has the figures).
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';

const WARMUP_OPS = 20_000;
/** Many short rounds, best kept: a round that no neighbour or GC disturbed shows the machine's speed. */
const ROUND_OPS = 2_000;
const ROUNDS = 60;
const CHILD_TIMEOUT_MS = 60_000;

/** One operation of the fixed workload; returns something so nothing is optimised away. */
function op(i: number, key: Buffer, map: Map<string, number>, body: Buffer): number {
  const json = JSON.stringify({ id: i, chat: `d.${i % 997}.${i % 991}`, from: i % 200, body: body.toString('base64'), at: 1_700_000_000_000 + i });
  const back = JSON.parse(json) as { id: number; body: string };
  const mac = createHmac('sha256', key).update(body).digest();
  const k = `u${i % 4096}`;
  map.set(k, (map.get(k) ?? 0) + mac[0]!);
  if (map.size > 2048) map.delete(`u${(i + 2048) % 4096}`);
  const frame = Buffer.concat([mac.subarray(0, 8), body]);
  return back.id + frame.length;
}

/** Run in the child: ns per operation in the fastest round (wall time: CPU-time counters tick in ms, too coarse for short rounds). */
function measureHere(): number {
  const key = Buffer.alloc(32, 7);
  const body = Buffer.alloc(100, 1);
  const map = new Map<string, number>();
  let sink = 0;
  for (let i = 0; i < WARMUP_OPS; i++) sink += op(i, key, map, body);
  let best = Infinity;
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = performance.now();
    for (let i = 0; i < ROUND_OPS; i++) sink += op(i, key, map, body);
    best = Math.min(best, ((performance.now() - t0) * 1e6) / ROUND_OPS);
  }
  if (sink === 42) console.log(''); // keep `sink` alive
  return best;
}

/** ns per calibration operation on this machine now (a fresh Node process). */
export function calibrate(): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [__filename, '--child'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_TIMEOUT_MS);
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => {
      clearTimeout(timer);
      const m = /calibration_ns_per_op ([\d.]+)/.exec(out);
      if (code === 0 && m) resolve(Number(m[1]));
      else reject(new Error(`calibration process failed (exit ${code}): ${out.trim()}`));
    });
  });
}

if (require.main === module && process.argv[2] === '--child') {
  console.log(`calibration_ns_per_op ${measureHere().toFixed(1)}`);
}
