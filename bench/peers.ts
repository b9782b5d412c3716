// Issue 14's "peers on the same workload": our full path (gateway -> gRPC ->
// chat service -> store -> gRPC -> gateway, with sent acks, delivery acks and
// receipts) against what a user might pick instead, Mosquitto at MQTT QoS 1
// and NATS JetStream with file storage, in one run, with the same generator,
// users, payload and rate ramp as bench/full-vs-bare.ts (bench/ramp-report.ts).
// docs/design/017-peers.md says what each side's acks stand for.
//
// Each target gets its own fresh service on a free loopback port, started and
// stopped here. Figures: msg/s at p99 < 100 ms, CPU per delivered message of the
// target's processes (/proc) and of the generator (process.cpuUsage), and our
// full path's rate over each peer's.
//
// Bounded: at most RAMP_BOUNDS.rates_max steps of at most RAMP_BOUNDS.step_s_max
// seconds each per target, each step a fixed count of sends (rate x seconds),
// the ramp stops at the first step over p99 100 ms or with a loss; loopback only.
//
//   node dist/bench/peers.js [--users 200] [--step-seconds 4] [--rates 2000,4000,...]
//        [--targets full,mqtt,jetstream] [--jetstream-consumer push|pull] [--json out.json]
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startSystem } from '../deploy/local-system';
import { startMosquitto } from '../deploy/services/mosquitto';
import { startNats } from '../deploy/services/nats';
import type { Driver } from '../loadgen/drivers/driver';
import { JetStreamDriver, type JetStreamConsumerKind } from '../loadgen/drivers/jetstream-driver';
import { MqttDriver } from '../loadgen/drivers/mqtt-driver';
import { SystemDriver } from '../loadgen/drivers/system-driver';
import type { PeerSide } from '../tools/capacity-model/bench-run';
import { takeJsonFlag, writeBenchJson } from './bench-json';
import { measureRamp, P99_MAX_MS, RAMP_DEFAULTS, rampReport, type RampRun } from './ramp-report';

/** What the command line may ask for. */
const RAMP_BOUNDS = Object.freeze({
  /** Users connect one socket each in this process: well under the 20k open files, and setup stays seconds. */
  users_max: 2000,
  /** A longer step measures no better on this noisy box and only makes the run longer. */
  step_s_max: 60,
  /** 12 steps is the default ramp; a few more for finer ones. */
  rates_max: 24,
  /** Past what any target here carries (the bare forwarder tops out below 300k). */
  rate_max: 1_000_000,
});

const TARGETS = ['full', 'mqtt', 'jetstream'] as const;
type Target = (typeof TARGETS)[number];

/**
 * JetStream consumer of the bench: push carried more than pull at p99 < 100 ms in the run quoted in
 * docs/design/017-peers.md; `--jetstream-consumer pull` measures the other.
 */
const JETSTREAM_CONSUMER_DEFAULT: JetStreamConsumerKind = 'push';

interface Running {
  driver: Driver;
  pids: Record<string, number>;
  stop(): Promise<unknown>;
}

async function start(target: Target, consumer: JetStreamConsumerKind): Promise<{ name: string; running: Running }> {
  if (target === 'full') {
    // Our own store dir, removed after the ramp (startSystem leaves the one it would make).
    const dataDir = mkdtempSync(join(tmpdir(), 'wa-peers-store-'));
    const sys = await startSystem({ dataDir }).catch((err: unknown) => {
      rmSync(dataDir, { recursive: true, force: true });
      throw err;
    });
    return {
      name: 'full',
      running: {
        driver: new SystemDriver({ url: sys.gatewayUrl, secret: sys.secret, transport: 'lean' }),
        pids: { gateway: sys.gateways[0]!.child.pid!, chat: sys.chat.child.pid! },
        stop: () => sys.stop().finally(() => rmSync(dataDir, { recursive: true, force: true })),
      },
    };
  }
  if (target === 'mqtt') {
    const broker = await startMosquitto();
    return { name: 'mosquitto-qos1', running: { driver: new MqttDriver({ url: broker.url }), pids: { mosquitto: broker.proc.pid }, stop: () => broker.stop() } };
  }
  const nats = await startNats();
  return {
    name: `jetstream-${consumer}`,
    running: { driver: new JetStreamDriver({ url: nats.url, consumer }), pids: { 'nats-server': nats.proc.pid }, stop: () => nats.stop() },
  };
}

function side(run: RampRun): PeerSide {
  const delivered = run.result.stages.reduce((a, s) => a + s.delivered, 0);
  const lost = run.result.stages.reduce((a, s) => a + s.lost, 0);
  const perMsg = (s: number) => (s * 1e6) / Math.max(1, delivered);
  const targetS = Object.entries(run.cpuSeconds).filter(([k]) => k !== 'loadgen').reduce((a, [, s]) => a + s, 0);
  return {
    target: run.target, sustained_msgs_per_s: run.sustainedRate, delivered, lost, errors: run.result.errors,
    target_cpu_us_per_msg: perMsg(targetS), generator_cpu_us_per_msg: perMsg(run.cpuSeconds.loadgen ?? 0),
    load_avg_before: run.loadavgBefore?.[0] ?? 0, load_avg_after: run.loadavgAfter?.[0] ?? 0,
  };
}

function table(sides: PeerSide[]): string[] {
  const head = `${'target'.padEnd(16)} ${'msg/s p99<100ms'.padStart(16)} ${'target us/msg'.padStart(14)} ${'generator us/msg'.padStart(17)} ${'lost'.padStart(6)} ${'errors'.padStart(7)}  load`;
  return [head, ...sides.map((s) =>
    `${s.target.padEnd(16)} ${String(s.sustained_msgs_per_s).padStart(16)} ${s.target_cpu_us_per_msg.toFixed(1).padStart(14)} ` +
    `${s.generator_cpu_us_per_msg.toFixed(1).padStart(17)} ${String(s.lost).padStart(6)} ${String(s.errors).padStart(7)}  ` +
    `${s.load_avg_before.toFixed(2)} -> ${s.load_avg_after.toFixed(2)}`)];
}

function parse(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    options: {
      users: { type: 'string', default: String(RAMP_DEFAULTS.users) },
      'step-seconds': { type: 'string', default: String(RAMP_DEFAULTS.step_s) },
      rates: { type: 'string', default: RAMP_DEFAULTS.rates.join(',') },
      targets: { type: 'string', default: TARGETS.join(',') },
      'jetstream-consumer': { type: 'string', default: JETSTREAM_CONSUMER_DEFAULT },
    },
  });
  const users = Number(values.users);
  const stepS = Number(values['step-seconds']);
  const rates = values.rates!.split(',').map(Number);
  const targets = values.targets!.split(',') as Target[];
  const consumer = values['jetstream-consumer'] as JetStreamConsumerKind;
  const b = RAMP_BOUNDS;
  if (!Number.isInteger(users) || users < 2 || users % 2 || users > b.users_max) throw new Error(`--users: an even number 2..${b.users_max}`);
  if (!Number.isInteger(stepS) || stepS < 1 || stepS > b.step_s_max) throw new Error(`--step-seconds: 1..${b.step_s_max}`);
  if (rates.length === 0 || rates.length > b.rates_max || !rates.every((r) => Number.isInteger(r) && r > 0 && r <= b.rate_max)) {
    throw new Error(`--rates: 1..${b.rates_max} whole rates, each 1..${b.rate_max}`);
  }
  if (targets.length === 0 || !targets.every((t) => (TARGETS as readonly string[]).includes(t)) || new Set(targets).size !== targets.length) {
    throw new Error(`--targets: some of ${TARGETS.join(',')}, each once`);
  }
  if (consumer !== 'push' && consumer !== 'pull') throw new Error('--jetstream-consumer: push or pull');
  return { users, stepS, rates, targets, consumer };
}

async function main(): Promise<void> {
  const { json, rest } = takeJsonFlag(process.argv.slice(2));
  const { users, stepS, rates, targets, consumer } = parse(rest);
  console.log(`peers on the same workload: ${targets.join(', ')}; ${users} users in pairs, steps of ${stepS}s at ${rates.join(', ')} msg/s; ` +
    `${cpus().length} cores, load average ${loadavg()[0]!.toFixed(2)}`);

  const runs: RampRun[] = [];
  for (const target of targets) {
    const { name, running } = await start(target, consumer);
    try {
      await running.driver.prepare?.(users);
      runs.push(await measureRamp(name, running.driver, running.pids, users, rates, stepS));
    } finally {
      await running.stop();
    }
  }

  console.log('');
  for (const run of runs) for (const line of rampReport(run)) console.log(line);
  const sides = runs.map(side);
  console.log('');
  for (const line of table(sides)) console.log(line);
  const full = sides.find((s) => s.target === 'full');
  const fullOverPeer: Record<string, number> = {};
  if (full) {
    for (const s of sides) {
      if (s === full || s.sustained_msgs_per_s === 0) continue;
      fullOverPeer[s.target] = full.sustained_msgs_per_s / s.sustained_msgs_per_s;
      console.log(`full / ${s.target} at p99 < ${P99_MAX_MS} ms: ${fullOverPeer[s.target]!.toFixed(3)} (goal >= 1)`);
    }
  }
  if (json) writeBenchJson(json, 'peers', { users, step_s: stepS, rates, sides, full_over_peer: fullOverPeer });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
