// `loadgen run <scenario> --procs N`: one run split over N load generator
// processes on this machine, because one process may hold at most ~20,000
// open files (connections) here and that cannot be raised. The parent starts
// the system (with enough gateways), provisions nothing itself, spawns N
// `loadgen run --shard i/N` children that each connect their users, waits
// until all are set up, gives them one start time, and merges their
// summaries losslessly (HDR histograms) into the run's own summary.
//
// Each child binds its connections to its own loopback source address
// (127.0.1.<i+1>), so no (source, destination) pair runs out of the ~28k
// ephemeral ports. Thresholds with abortOnFail are judged per shard (as in
// distributed k6): one shard may stop before the others.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { availableParallelism } from 'node:os';
import type { TopologyShape } from '../../deploy/topology';
import { mergeSummaries, readSummary } from '../engine/merge';
import type { RunSummary } from '../engine/summary';
import type { RunPlan } from '../model/plan';
import type { Scenario } from '../model/scenario';
import { withTimeout } from '../../lib/async';
import { freshUserBase, startLocalTarget, systemUsageSince, type LocalSystem, type StoreChoice } from '../engine/local-target';
import { SystemSampler } from '../engine/system-sampler';

/** Connections one gateway process is given at most (its open-files limit is 20,000). */
export const CONNECTIONS_PER_GATEWAY_MAX = 19_000;
const READY_TIMEOUT_MS = 10 * 60_000;
const START_DELAY_MS = 500;
export const READY_LINE = 'LOADGEN_SHARD_READY';

export interface LocalShardsOptions {
  scenario: Scenario;
  scenarioArg: string;
  plan: RunPlan;
  procs: number;
  outDir: string;
  runId: string;
  /** Flags passed through to every child (duration, scale, users, transport, workers...). */
  passThrough: string[];
  targetUrls?: string[];
  secret?: string;
  chatTarget?: string;
  /** --topology GxM: the parent starts the multi-node topology; every child connects through its HAProxy. */
  topology?: TopologyShape;
  /** The topology's store (plan.store) and, for Cassandra, a cluster dir to reuse. */
  store?: StoreChoice;
  /** Each child serves its own /metrics on a free port (and registers it for Prometheus file_sd). */
  childMetrics?: boolean;
  log: (line: string) => void;
  /** The children's timeline interval (--interval; default 1 s): the parent samples the system it started on the same grid. */
  intervalMs?: number;
  /** Aborted (SIGINT, SIGTERM): every shard is sent SIGTERM, stops gracefully and writes its partial summary; they merge as usual. */
  stop?: AbortSignal;
}

export async function runLocalShards(o: LocalShardsOptions): Promise<RunSummary> {
  const setupStart = Date.now();
  let system: LocalSystem | null = null;
  let store: string | undefined;
  const children: ChildProcess[] = [];
  try {
    let urls = o.targetUrls ?? [];
    let secret = o.secret ?? '';
    let chatTarget = o.chatTarget;
    if (urls.length === 0) {
      const online = Math.ceil(o.plan.traffic.users * o.plan.traffic.onlineShare);
      const gateways = Math.max(o.scenario.system?.gateways ?? 1, Math.ceil(online / CONNECTIONS_PER_GATEWAY_MAX));
      o.log(o.topology
        ? `setup: starting the topology ${o.topology.gateways}x${o.topology.chats} for ${online} connections over ${o.procs} load generator processes ...`
        : `setup: starting the system with ${gateways} gateway(s) for ${online} connections over ${o.procs} load generator processes ...`);
      const local = await startLocalTarget(gateways, o.scenario.system, o.topology, o.store, o.log);
      store = local.store;
      o.log(`setup: store: ${local.store}`);
      system = local.system;
      urls = local.urls;
      secret = local.secret;
      chatTarget = local.chatTarget;
    }
    const rssIdle = system ? system.rssBytes() : null;
    const userBase = freshUserBase();
    const workers = Math.max(1, Math.floor(availableParallelism() / o.procs));
    const ready: Promise<void>[] = [];
    const exited: Promise<number>[] = [];
    for (let i = 0; i < o.procs; i++) {
      const dir = join(o.outDir, `shard-${i + 1}`);
      mkdirSync(dir, { recursive: true });
      const args = [
        join(__dirname, 'cli.js'), 'run', o.scenarioArg, '--shard', `${i + 1}/${o.procs}`, '--target', urls.join(','),
        '--user-base', String(userBase), '--out', dir, '--run-id', `${o.runId}-shard${i + 1}of${o.procs}`, '--quiet',
        '--metrics-port', o.childMetrics ? '0' : 'off', '--start-on-stdin', '--local-addresses', `127.0.1.${i + 1}`, '--workers', String(workers), ...o.passThrough,
      ];
      if (chatTarget) args.push('--chat-target', chatTarget);
      // Own process group (detached): a terminal's Ctrl-C reaches only this parent, which forwards one SIGTERM
      // (o.stop); a shard hit by both would take the second signal as "stop at once" and leave no summary.
      const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'], detached: true, env: { ...process.env, WA_TOKEN_SECRET: secret } });
      children.push(child);
      ready.push(new Promise((resolve, reject) => {
        let out = '';
        child.stdout!.on('data', (d: Buffer) => {
          out += d;
          if (out.includes(READY_LINE)) resolve();
        });
        child.once('exit', (code) => reject(new Error(`shard ${i + 1} exited (${code}) before it was set up`)));
      }));
      exited.push(new Promise((resolve) => child.once('exit', (code) => resolve(code ?? 1))));
      let errBuf = '';
      child.stderr!.on('data', (d: Buffer) => {
        errBuf += d;
        let nl: number;
        while ((nl = errBuf.indexOf('\n')) >= 0) {
          o.log(`[shard ${i + 1}] ${errBuf.slice(0, nl)}`);
          errBuf = errBuf.slice(nl + 1);
        }
      });
    }
    for (const r of ready) r.catch(() => {});
    o.stop?.addEventListener('abort', () => {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
    }, { once: true });
    await withTimeout(Promise.all(ready), READY_TIMEOUT_MS, 'shards setting up');
    const setupMs = Date.now() - setupStart;
    const startAt = Date.now() + START_DELAY_MS;
    const cpuStart = system ? system.cpuSeconds() : null;
    const rssConnected = system ? system.rssBytes() : null;
    const sampler = system ? new SystemSampler(system, startAt, o.intervalMs ?? 1000) : null;
    for (const c of children) c.stdin!.end(`START ${startAt}\n`);
    o.log(`all ${o.procs} shards set up in ${(setupMs / 1000).toFixed(1)} s; start at ${new Date(startAt).toISOString()}`);
    const codes = await Promise.all(exited);
    const measuredMs = Date.now() - startAt;
    const intervals = sampler?.stop() ?? new Map();
    const parts = codes.map((code, i) => {
      try {
        return readSummary(join(o.outDir, `shard-${i + 1}`));
      } catch (err) {
        throw new Error(`shard ${i + 1} exited ${code} without a summary: ${(err as Error).message}`);
      }
    });
    const usage = system && cpuStart ? systemUsageSince(system, cpuStart, measuredMs, rssIdle, rssConnected) : null;
    const merged = mergeSummaries(parts, o.runId, ['loadgen', 'run', o.scenarioArg, '--procs', String(o.procs), ...o.passThrough].join(' '),
      usage ? { usage, intervals } : undefined);
    merged.phases.setup_ms = setupMs;
    merged.target.started_by_loadgen = system !== null;
    if (store) merged.target.store = store;
    return merged;
  } finally {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
    if (system) await system.stop();
  }
}
