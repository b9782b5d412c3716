// The 1:1 pair load engine: users in pairs (i <-> i^1), every user sends to
// its partner, an open-model arrival schedule (k6's constant-arrival-rate) per
// stage. `make run-pairs`, the capacity ramp and the full-path-vs-bare
// benchmark use it; the k6-style executors of the load generator grow from here.
//
// Honest latency: each message carries its *scheduled* send time, and latency
// is counted from that time to arrival at the recipient, in this process's
// clock (sender and recipient live here), so a stalled target shows up in the
// percentiles instead of silently slowing the sender (no coordinated omission).
//
// Payload: [f64 scheduled ms][u32 sender][u32 number][u8 stage][padding].
import { performance } from 'node:perf_hooks';
import type { Driver, Endpoint } from '../drivers/driver';
import { LatencyHistogram, type LatencySummary } from '../metrics/latency';
import { runOpenLoop } from '../../lib/open-loop';

const HEADER_BYTES = 17;

export interface Stage {
  /** Messages per second across all senders. */
  rate: number;
  durationS: number;
}

export interface PairLoadOptions {
  users: number;
  stages: Stage[];
  messageBytes?: number;
  /** How long to wait for stragglers after the last stage. */
  graceMs?: number;
  /** Stop early when a stage's p99 exceeds this (breakpoint search). */
  stopWhenP99AboveMs?: number;
  connectConcurrency?: number;
  progress?: (line: string) => void;
  /** Run this stage first and leave it out of the results (JIT, caches, first chats created). */
  warmup?: Stage;
  /**
   * Called as the first measured stage starts (after connecting and the warm-up), when the
   * generator's own CPU count starts: a caller measuring the target's CPU starts there too, so
   * setup (a broker creating 200 consumers, say) is not charged to the messages.
   */
  onMeasureStart?: () => void;
}

export interface StageResult {
  rate: number;
  durationS: number;
  scheduled: number;
  sent: number;
  delivered: number;
  duplicated: number;
  outOfOrder: number;
  lost: number;
  achievedRate: number;
  latency: LatencySummary;
  histogram: string;
}

export interface PairLoadResult {
  driver: string;
  users: number;
  connectMs: number;
  stages: StageResult[];
  errors: number;
  closedUnexpectedly: number;
  loadgenCpuUs: number;
  /**
   * Every send as the target answered it, summed over the endpoints, taken after the last grace
   * period and before closing (drivers with per-send acks only: the peers). With lost = scheduled -
   * delivered, a loss is then either failed (with its reason), still pending, or acked but not
   * delivered by the end of the grace period (late, or lost by the target after its ack).
   */
  sendAcks?: { acked: number; failed: Record<string, number>; pending: number };
}

interface Tracker {
  prefix: number;
  above: Set<number>;
  max: number;
}

export async function runPairLoad(driver: Driver, opts: PairLoadOptions): Promise<PairLoadResult> {
  if (opts.users < 2 || opts.users % 2 !== 0) throw new Error('users must be an even number >= 2');
  const size = Math.max(HEADER_BYTES, opts.messageBytes ?? 100);
  const warmups = opts.warmup ? 1 : 0;
  if (opts.warmup) opts = { ...opts, stages: [opts.warmup, ...opts.stages] };
  const progress = opts.progress ?? (() => {});

  // ---- setup (not measured): connect everyone
  const connectStart = performance.now();
  const endpoints: Endpoint[] = new Array(opts.users);
  const concurrency = opts.connectConcurrency ?? 64;
  for (let i = 0; i < opts.users; i += concurrency) {
    const batch = [];
    for (let j = i; j < Math.min(opts.users, i + concurrency); j++) batch.push(driver.connect(j).then((e) => (endpoints[j] = e)));
    await Promise.all(batch);
  }
  const connectMs = performance.now() - connectStart;

  const stages = opts.stages.map(() => ({
    hist: new LatencyHistogram(), scheduled: 0, delivered: 0, duplicated: 0, outOfOrder: 0,
  }));
  // trackers[recipient][sender-partner] -> one partner per recipient in pair mode
  const trackers: Tracker[] = Array.from({ length: opts.users }, () => ({ prefix: 0, above: new Set<number>(), max: 0 }));
  let closedUnexpectedly = 0;
  let stopping = false;
  const numbers = new Uint32Array(opts.users); // next message number per sender

  for (let r = 0; r < opts.users; r++) {
    const e = endpoints[r]!;
    e.onReceive = (p) => {
      const now = performance.now();
      if (p.length < HEADER_BYTES) return;
      const view = Buffer.from(p.buffer, p.byteOffset, p.length);
      const scheduled = view.readDoubleLE(0);
      const num = view.readUInt32LE(12);
      const stage = stages[view[16]!];
      if (!stage) return;
      const t = trackers[r]!;
      if (num <= t.prefix || t.above.has(num)) {
        stage.duplicated++;
        return;
      }
      if (num < t.max) stage.outOfOrder++;
      if (num > t.max) t.max = num;
      if (num === t.prefix + 1) {
        t.prefix = num;
        while (t.above.delete(t.prefix + 1)) t.prefix++;
      } else {
        t.above.add(num);
      }
      stage.delivered++;
      stage.hist.recordMs(now - scheduled);
    };
    e.onClose = () => {
      if (!stopping) closedUnexpectedly++;
    };
  }

  let cpuStart = process.cpuUsage();
  const payload = Buffer.alloc(size);
  const results: StageResult[] = [];
  let sender = 0;
  for (let s = 0; s < opts.stages.length; s++) {
    const { rate, durationS } = opts.stages[s]!;
    const stage = stages[s]!;
    if (s === warmups) {
      cpuStart = process.cpuUsage();
      opts.onMeasureStart?.();
    }
    const total = Math.round(rate * durationS);
    let nextProgress = performance.now() + 1000;
    const start = await runOpenLoop({
      rate,
      total,
      // Each send stamped with its own scheduled time.
      send: (due) => {
        const to = sender ^ 1;
        const n = ++numbers[sender]!;
        payload.writeDoubleLE(due, 0);
        payload.writeUInt32LE(sender, 8);
        payload.writeUInt32LE(n, 12);
        payload[16] = s;
        endpoints[sender]!.send(to, payload);
        stage.scheduled++;
        sender = sender + 1 === opts.users ? 0 : sender + 1;
      },
      onWake: (now, start) => {
        if (now < nextProgress) return;
        nextProgress += 1000;
        progress(
          `stage ${s + 1}/${opts.stages.length} ${((now - start) / 1000).toFixed(0)}s rate ${rate}/s sent ${stage.scheduled} ` +
            `delivered ${stage.delivered} p99 ${stage.hist.percentileMs(99).toFixed(1)}ms`,
        );
      },
    });
    const elapsedS = (performance.now() - start) / 1000;
    // Let this stage's stragglers arrive before judging it (short between stages).
    const graceMs = s === opts.stages.length - 1 ? opts.graceMs ?? 3000 : 300;
    const deadline = performance.now() + graceMs;
    // (and, for drivers with per-send acks, for the acks still pending: the closing accounting counts them)
    const settled = () => stage.delivered >= stage.scheduled && !endpoints.some((e) => e.sendAcks && e.sendAcks.pending > 0);
    while (!settled() && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    // A stage that ends the ramp early is its last: its stragglers get the last stage's grace too, so
    // "lost" means not delivered within graceMs, as for the last stage, not within 300 ms (late).
    const breaks = () => opts.stopWhenP99AboveMs !== undefined &&
      (stage.hist.percentileMs(99) > opts.stopWhenP99AboveMs || stage.delivered < stage.scheduled * 0.999);
    if (s < opts.stages.length - 1 && s >= warmups && breaks()) {
      const lastDeadline = deadline - graceMs + (opts.graceMs ?? 3000);
      while (!settled() && performance.now() < lastDeadline) await new Promise((r) => setTimeout(r, 20));
    }
    const lat = stage.hist.summary();
    if (s < warmups) continue;
    results.push({
      rate, durationS,
      scheduled: stage.scheduled,
      sent: stage.scheduled,
      delivered: stage.delivered,
      duplicated: stage.duplicated,
      outOfOrder: stage.outOfOrder,
      lost: stage.scheduled - stage.delivered,
      achievedRate: stage.scheduled / elapsedS,
      latency: lat,
      histogram: stage.hist.encode(),
    });
    if (opts.stopWhenP99AboveMs !== undefined && (lat.p99_ms > opts.stopWhenP99AboveMs || stage.delivered < stage.scheduled * 0.999)) break;
  }
  const cpu = process.cpuUsage(cpuStart);
  const sendAcks = sumSendAcks(endpoints);
  stopping = true;
  for (const e of endpoints) e.close();
  return {
    driver: driver.name,
    users: opts.users,
    connectMs,
    stages: results,
    errors: endpoints.reduce((a, e) => a + e.errors, 0),
    closedUnexpectedly,
    loadgenCpuUs: cpu.user + cpu.system,
    ...(sendAcks ? { sendAcks } : {}),
  };
}

function sumSendAcks(endpoints: Endpoint[]): PairLoadResult['sendAcks'] {
  if (!endpoints.some((e) => e.sendAcks)) return undefined;
  const sum = { acked: 0, failed: {} as Record<string, number>, pending: 0 };
  for (const e of endpoints) {
    if (!e.sendAcks) continue;
    sum.acked += e.sendAcks.acked;
    sum.pending += e.sendAcks.pending;
    for (const [reason, n] of e.sendAcks.failed) sum.failed[reason] = (sum.failed[reason] ?? 0) + n;
  }
  return sum;
}
