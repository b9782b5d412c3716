// The coordinator (main thread) of one run, or of one shard of a run:
//
//   setup     start the system (when no --target), provision users over gRPC,
//             spawn one worker thread per segment, let each connect its users
//   measured  one common start time; workers run the executors and ship a
//             snapshot per interval; here they are summed into the timeline and
//             the cumulative metrics, thresholds with abortOnFail are judged,
//             the progress line and /metrics are updated
//   grace     workers wait for in-flight deliveries, then count what is missing
//   teardown  close connections, end the threads, stop the system
//
// Setup and teardown are timed apart and never enter the measured window.
import { Worker } from 'node:worker_threads';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadavg } from 'node:os';
import type { TopologyShape } from '../../deploy/topology';
import { threadCpuSeconds } from '../../lib/proc-cpu';
import { MetricsAggregate } from '../metrics/aggregate';
import { LatencyHistogram } from '../metrics/latency';
import { abortingThreshold } from '../model/thresholds';
import type { Scenario } from '../model/scenario';
import type { TargetSpec } from '../drivers/connection';
import type { ExecutorStatus, FromWorker, ToWorker, WorkerDone, WorkerInit, WorkerStatus } from '../workers/protocol';
import type { MetricsSnapshot } from '../metrics/registry';
import type { Output } from './output';
import { planRun, type RunPlan } from '../model/plan';
import { segmentsOf, slice } from '../model/segments';
import { intervalRecord, type IntervalRecord } from './timeline';
import { exitCodeOf, finishSummary, machineInfo, SUMMARY_VERSION, type ProcessUsage, type RunSummary } from './summary';
import { withTimeout } from '../../lib/async';
import { freshUserBase, startLocalTarget, systemUsageSince, type LocalSystem, type SystemBuild } from './local-target';
import { faultSideOf } from './fault-sides';
import { FaultSession } from './fault-session';
import type { TlsClientOptions } from '../client/transport';
import { localSecretProvider, type TokenProvider } from '../identity/token-provider';
import { chatMetricsUrls, KeyDirectoryProbe } from './key-directory-probe';
import type { KeyDirectoryFigures } from './e2ee-report';

const SETUP_TIMEOUT_MS = 10 * 60_000;
const TEARDOWN_TIMEOUT_MS = 15_000;
const START_DELAY_MS = 250;
const INTERVAL_MS_DEFAULT = 1000;

export interface RunOptions {
  scenario: Scenario;
  scenarioFile: string;
  /** Gateway URLs; none: start the system here. */
  targetUrls?: string[];
  /** --topology GxM: start etcd, Redis, M chat nodes and G gateways behind HAProxy instead of the single-process system. */
  topology?: TopologyShape;
  /** --store sqlite|cassandra: the topology's shared store (over the scenario's `store`). */
  store?: string;
  /** --cassandra-cluster: reuse the cluster `scripts/cassandra.sh cluster-start` runs in this dir (else the topology starts its own). */
  cassandraClusterDir?: string;
  driver: 'system' | 'bare';
  /** The target's token secret (the local-secret provider) when no other provider is given. */
  secret?: string;
  /** Where the users' tokens come from for a --target system (--token-file, --register); the local secret otherwise. */
  tokens?: TokenProvider;
  /** wss:// targets: the CA to trust, or no verification. */
  tls?: TlsClientOptions;
  /** Aborted (SIGINT, SIGTERM) = stop gracefully: the partial summary is still made; during setup, RunInterrupted. */
  stop?: AbortSignal;
  /** Chat service gRPC address of an external system, for bulk provisioning. */
  chatTarget?: string;
  scale?: number;
  durationMs?: number;
  /** Override the traffic model's user count (after --scale). */
  users?: number;
  /** Override the traffic model's `e2ee` (--e2ee on|off). */
  e2ee?: boolean;
  shard: { index: number; count: number };
  workers: number;
  outDir: string;
  runId: string;
  transport: 'lean' | 'ws';
  localAddresses: string[];
  startAtEpochMs?: number;
  userBase?: number;
  command: string;
  intervalMs?: number;
  outputs: Output[];
  log: (line: string) => void;
  /** Set up, then ask for the common start time (a parent process running several shards decides it). */
  waitForStart?: () => Promise<number>;
  /** The single-process system started here: another checkout's build, extra environment (tools/perf-gate/timed-ab.ts). */
  systemBuild?: SystemBuild;
  /** Called when the system (or the target) is ready, before workers connect; tests use it to find pids. */
  onSystem?: (system: LocalSystem | null) => void;
}

/** The run was stopped from outside before its measured window began: nothing was measured, no summary. */
export class RunInterrupted extends Error {}

class WorkerHandle {
  readonly worker: Worker;
  ready: Promise<FromWorker & { type: 'ready' }>;
  done: Promise<WorkerDone>;
  closed: Promise<void>;
  finished = false;
  lastIndex = -1;
  private resolvers: Record<string, (v: never) => void> = {};
  private rejecters: ((e: Error) => void)[] = [];

  constructor(readonly id: number, init: WorkerInit, onMessage: (h: WorkerHandle, m: FromWorker) => void) {
    this.worker = new Worker(join(__dirname, '..', 'workers', 'worker-main.js'), { workerData: init });
    const promise = <T>(key: string) =>
      new Promise<T>((resolve, reject) => {
        this.resolvers[key] = resolve as (v: never) => void;
        this.rejecters.push(reject);
      });
    this.ready = promise('ready');
    this.done = promise('done');
    this.closed = promise('closed');
    // Rejections are observed where they are awaited; keep Node from calling unobserved ones unhandled.
    for (const p of [this.ready, this.done, this.closed]) p.catch(() => {});
    this.worker.on('message', (m: FromWorker) => {
      if (m.type === 'ready') this.resolvers.ready!(m as never);
      else if (m.type === 'done') {
        this.finished = true;
        onMessage(this, m);
        this.resolvers.done!(m.done as never);
        return;
      } else if (m.type === 'closed') this.resolvers.closed!(undefined as never);
      else if (m.type === 'fatal') this.fail(new Error(`worker ${id}: ${m.message}`));
      onMessage(this, m);
    });
    this.worker.on('error', (err) => this.fail(new Error(`worker ${id} crashed: ${err.message}`)));
    this.worker.on('exit', (code) => this.fail(new Error(`worker ${id} exited (${code})`)));
  }

  private fail(err: Error): void {
    for (const r of this.rejecters) r(err);
    // The 'closed' promise resolves on exit: a worker that is gone is closed.
    this.resolvers.closed?.(undefined as never);
  }

  send(m: ToWorker): void {
    this.worker.postMessage(m);
  }
}

export async function runScenario(o: RunOptions): Promise<RunSummary> {
  const log = o.log;
  const intervalMs = o.intervalMs ?? INTERVAL_MS_DEFAULT;
  const plan: RunPlan = planRun(o.scenario, { scale: o.scale, durationMs: o.durationMs, users: o.users, e2ee: o.e2ee, topology: o.topology, store: o.store });
  if (!(o.workers >= 1 && o.workers <= 64)) throw new Error(`--workers must be within 1..64, got ${o.workers}`);
  if (plan.traffic.mediaShare > 0 && o.driver === 'bare') throw new Error('traffic.mediaShare > 0 needs --driver system: the bare forwarder has no media endpoint');
  if (plan.traffic.e2ee && o.driver === 'bare') throw new Error('traffic.e2ee needs --driver system: the bare forwarder has no key directory');
  const segments = segmentsOf(plan, o.shard.index, o.shard.count, o.workers);
  mkdirSync(o.outDir, { recursive: true });

  const startedAt = new Date().toISOString();
  const loadavgStart = loadavg()[0];
  const setupStart = Date.now();
  let system: LocalSystem | null = null;
  let handles: WorkerHandle[] = [];
  const agg = new MetricsAggregate();
  const timeline: IntervalRecord[] = [];
  let aborted: RunSummary['aborted'] = null;
  let measuredStartMs = 0;
  let setupMs = 0;
  let teardownMs = 0;
  let dones: WorkerDone[] = [];
  const setupConnect = new LatencyHistogram();
  let setupConnected = 0;
  let setupFailed = 0;
  let groupsCreated = 0;
  /** traffic.e2ee warm-up, summed over the workers (the slowest worker's time); null when off. */
  let e2eeWarmup: { sessions: number; sender_keys: number; ms: number } | null = null;
  let systemUsage: Record<string, ProcessUsage> | null = null;
  let cpuPercentSum = 0;
  let cpuIntervals = 0;
  let busiestMax = 0;
  /** The generator's resident memory once set up, before the measured window (connect-ramp's baseline). */
  let loadgenRssStart = 0;
  const warnings: string[] = [];
  let targetUrls: string[] = o.targetUrls ?? [];
  let onStop: (() => void) | null = null;
  let stopDuringSetup: (reason: string) => void = () => {};
  const setupStopped = new Promise<never>((_, reject) => {
    stopDuringSetup = (reason) => reject(new RunInterrupted(`${reason} during setup: nothing was measured`));
  });
  setupStopped.catch(() => {});
  const stopReason = () => `interrupted (${String(o.stop?.reason ?? 'stopped')})`;
  if (o.stop) {
    onStop = () => stopDuringSetup(stopReason());
    o.stop.addEventListener('abort', onStop, { once: true });
  }
  const untilStopped = <T>(p: Promise<T>): Promise<T> => (o.stop?.aborted ? setupStopped : Promise.race([p, setupStopped]));
  let faults: FaultSession | null = null;
  let local: Awaited<ReturnType<typeof startLocalTarget>> | null = null;
  let store: string | undefined;
  let keyDirectory: KeyDirectoryFigures | null = null;

  try {
    // ---------------------------------------------------------------- setup
    let secret = o.secret ?? '';
    let chatTarget = o.chatTarget;
    if (targetUrls.length === 0) {
      if (o.driver === 'bare') throw new Error('--driver bare needs --target (the bare forwarder is not started by loadgen)');
      const storeChoice = o.topology && plan.store ? { name: plan.store, cassandraClusterDir: o.cassandraClusterDir } : undefined;
      log(o.topology
        ? `setup: starting the topology (${o.topology.gateways} gateway(s) behind HAProxy, ${o.topology.chats} chat node(s), etcd, Redis, ` +
          `${storeChoice?.name === 'cassandra' ? `a 3-node Cassandra cluster${o.cassandraClusterDir ? ` (reusing ${o.cassandraClusterDir})` : ''}` : 'shared SQLite'}) ...`
        : `setup: starting the system (${o.scenario.system?.gateways ?? 1} gateway(s)) ...`);
      local = await startLocalTarget(o.scenario.system?.gateways ?? 1, o.scenario.system, o.topology, storeChoice, log, o.systemBuild);
      store = local.store;
      system = local.system;
      targetUrls = local.urls;
      secret = local.secret;
      chatTarget = local.chatTarget;
      log(`setup: ${local.topology ? 'HAProxy' : 'gateways'} ${targetUrls.join(', ')}, chat service ${chatTarget}, store: ${local.store}`);
    } else if (o.driver === 'system' && !secret && !o.tokens) {
      throw new Error('--target with the real system needs a token provider: --secret (or WA_TOKEN_SECRET), --token-file or --register');
    }
    o.onSystem?.(system);
    const userBase = o.userBase ?? freshUserBase();
    const shardUsers = slice(plan.traffic.users, o.shard.count, o.shard.index);
    // A system started here mints from its own secret; a --target uses the provider given, else the secret.
    const tokens = local || !o.tokens ? localSecretProvider(secret) : o.tokens;
    const identities = await untilStopped(tokens.identities(plan.traffic.users, userBase));
    if (tokens.name !== 'local-secret') log(`setup: ${plan.traffic.users} users' tokens from the ${tokens.name} provider`);
    if (o.driver === 'system' && chatTarget && tokens.mintsIds) {
      const t = Date.now();
      await provisionUsersOf(chatTarget, userBase + shardUsers.first, shardUsers.n, secret);
      log(`setup: provisioned ${shardUsers.n} users over gRPC in ${Date.now() - t} ms`);
    }
    if (plan.faults.length > 0) {
      // Faults act on processes this run started; the probe's users come after the run's (fresh ids).
      if (!local || !chatTarget) throw new Error('faults need the system started by loadgen (no --target)');
      if (o.shard.count > 1) throw new Error('faults run in a single load generator process (no --shard / --procs)');
      const provisionAt = chatTarget;
      faults = await FaultSession.open({
        plan, side: faultSideOf(local), secret, firstUser: userBase + plan.traffic.users, log,
        provision: (first, n) => provisionUsersOf(provisionAt, first, n, secret),
      });
    }
    const rssIdle = system ? system.rssBytes() : null;
    const target: TargetSpec = {
      driver: o.driver, urls: targetUrls, identities, transport: o.transport, ackDelayMs: plan.traffic.ackDelayMs, tls: o.tls,
    };
    // With e2ee, users that start offline also connect once at setup: that uploads their keys, so a first message to them can be sealed.
    // A run that sends nothing (connect-ramp) needs no target to know its offline users: its ramp does the connecting.
    const sends = plan.executors.some((e) => e.exec === 'chat' || e.exec === 'group');
    const touchOffline = o.driver === 'system' && sends && (!chatTarget || plan.traffic.e2ee === true) && plan.traffic.onlineShare < 1;
    const tagged = plan.tagged;

    // Intervals complete when every worker still running has reported them.
    const pending = new Map<number, { snaps: MetricsSnapshot[]; statuses: WorkerStatus[]; from: Set<number> }>();
    const lastGauges = new Map<number, Record<string, number>>();
    let nextToComplete = 0;
    // CPU marks are (re)set when the measured window starts: setup is not the generator's steady cost.
    let cpuMark = process.cpuUsage();
    let mainCpuMark = threadCpuSeconds();
    // The server processes' CPU per interval (a run that started the system): steady-state figures skip the warm-up.
    let sysCpuMark: Record<string, number> | null = null;
    const markCpu = () => {
      cpuMark = process.cpuUsage();
      mainCpuMark = threadCpuSeconds();
      sysCpuMark = system ? system.cpuSeconds() : null;
    };
    const onMessage = (h: WorkerHandle, m: FromWorker) => {
      if (m.type === 'log') log(m.line);
      else if (m.type === 'interval') {
        // Everything reaches the cumulative metrics when the interval completes (gauges summed then, once).
        lastGauges.set(h.id, m.snap.gauges);
        let e = pending.get(m.index);
        if (!e) pending.set(m.index, (e = { snaps: [], statuses: [], from: new Set() }));
        e.snaps.push(m.snap);
        e.statuses.push(m.status);
        e.from.add(h.id);
        h.lastIndex = m.index;
        completeIntervals();
      } else if (m.type === 'done') {
        completeIntervals();
      }
    };
    const completeIntervals = (flush = false) => {
      for (;;) {
        const e = pending.get(nextToComplete);
        if (!e) {
          if (flush && [...pending.keys()].some((k) => k > nextToComplete)) {
            nextToComplete++;
            continue;
          }
          return;
        }
        const waiting = handles.some((h) => !e.from.has(h.id) && !(h.finished && h.lastIndex < nextToComplete));
        if (waiting && !flush) return;
        pending.delete(nextToComplete);
        completeInterval(nextToComplete++, e.snaps, e.statuses);
      }
    };
    const completeInterval = (index: number, snaps: MetricsSnapshot[], statuses: WorkerStatus[]) => {
      const rec = intervalRecord(index, intervalMs, snaps, agg);
      const cpu = process.cpuUsage(cpuMark);
      cpuMark = process.cpuUsage();
      rec.loadgen_cpu_percent = Math.round(((cpu.user + cpu.system) / 1000 / intervalMs) * 1000) / 10;
      const mainCpu = threadCpuSeconds();
      if (mainCpu !== null && mainCpuMark !== null) rec.main_thread_cpu_percent = Math.round(((mainCpu - mainCpuMark) * 1000 / intervalMs) * 1000) / 10;
      mainCpuMark = mainCpu;
      rec.busiest_thread_cpu_percent = Math.round(Math.max(0, ...statuses.map((s) => ((s.threadCpuS ?? 0) * 1000) / intervalMs)) * 1000) / 10;
      rec.loadgen_rss_bytes = process.memoryUsage.rss();
      if (system && sysCpuMark) {
        const now = system.cpuSeconds();
        rec.system_cpu_s = {};
        // A process restarted by a fault is a new process: its CPU counts from its start.
        for (const [name, cpuS] of Object.entries(now)) {
          const mark = sysCpuMark[name] ?? cpuS;
          rec.system_cpu_s[name] = Math.round((cpuS >= mark ? cpuS - mark : cpuS) * 1000) / 1000;
        }
        sysCpuMark = now;
        rec.system_rss_bytes = knownRss(system.rssBytes());
      }
      const elapsedMs = (index + 1) * intervalMs;
      const sums: Record<string, number> = {};
      for (const g of lastGauges.values()) for (const [name, v] of Object.entries(g)) sums[name] = (sums[name] ?? 0) + v;
      for (const [name, v] of Object.entries(sums)) agg.setGauge(name, v);
      if (elapsedMs <= plan.windowMs + intervalMs) agg.setGauge('loadgen_cpu_percent', rec.loadgen_cpu_percent);
      if (elapsedMs <= plan.windowMs + intervalMs) {
        cpuPercentSum += rec.loadgen_cpu_percent;
        cpuIntervals++;
        busiestMax = Math.max(busiestMax, rec.busiest_thread_cpu_percent);
      }
      timeline.push(rec);
      agg.durationMs = Math.min(elapsedMs, plan.windowMaxMs);
      const executors = mergeExecutorStatus(statuses);
      for (const out of o.outputs) out.interval?.({ elapsedMs, plan, agg, last: rec, intervalMs, executors, faults: faults?.windows() });
      if (!aborted) {
        const r = abortingThreshold(plan.thresholds, agg, elapsedMs);
        if (r) abort(`threshold ${r.metric} '${r.source}' failed (was ${+r.actual.toFixed(3)}) and has abortOnFail`, elapsedMs);
      }
    };
    const abort = (reason: string, atMs: number) => {
      if (aborted) return;
      aborted = { reason, at_s: atMs / 1000 };
      log(`aborting: ${reason}`);
      for (const h of handles) h.send({ type: 'abort', reason });
    };

    for (const out of o.outputs) await out.start?.({ plan, runId: o.runId, outDir: o.outDir, shard: o.shard, segments });
    handles = segments.map((segment, i) => new WorkerHandle(i, {
      workerId: i, plan, segment, target, localAddresses: o.localAddresses, touchOffline, tagged, intervalMs,
    }, onMessage));
    log(`setup: ${handles.length} worker thread(s) connecting ${segments.reduce((a, s) => a + s.users, 0)} users ` +
      `(${Math.round(plan.traffic.onlineShare * 100)}% online at the start) ...`);
    const readies = await untilStopped(withTimeout(Promise.all(handles.map((h) => h.ready)), SETUP_TIMEOUT_MS, 'setup (connecting users)'));
    let firstError = '';
    let groupsFailed = 0;
    for (const r of readies) {
      setupConnect.add(LatencyHistogram.decode(r.setup.connectTime));
      setupConnected += r.setup.connected;
      setupFailed += r.setup.failed;
      firstError ||= r.setup.firstError;
      groupsCreated += r.setup.groupsCreated;
      groupsFailed += r.setup.groupsFailed;
      const w = r.setup.e2eeWarmup;
      if (w) {
        e2eeWarmup ??= { sessions: 0, sender_keys: 0, ms: 0 };
        e2eeWarmup.sessions += w.sessions;
        e2eeWarmup.sender_keys += w.senderKeys;
        e2eeWarmup.ms = Math.max(e2eeWarmup.ms, Math.round(w.durationMs));
      }
    }
    if (groupsFailed > 0) throw new Error(`setup: ${groupsFailed} group chat(s) could not be created; first: ${firstError}`);
    // A partial world is a different load than the scenario's: refuse to measure it.
    if (setupFailed > 0) throw new Error(`setup: ${setupFailed} of ${setupFailed + setupConnected} connections failed; first: ${firstError}`);
    const rssConnected = system ? system.rssBytes() : null;
    loadgenRssStart = process.memoryUsage.rss();
    setupMs = Date.now() - setupStart;
    log(`setup: ${setupConnected} connections${groupsCreated ? `, ${groupsCreated} group chats` : ''}` +
      `${e2eeWarmup ? `, e2ee warm-up ${e2eeWarmup.sessions} sessions + ${e2eeWarmup.sender_keys} sender keys in ${(e2eeWarmup.ms / 1000).toFixed(1)} s` : ''}` +
      ` in ${(setupMs / 1000).toFixed(1)} s`);

    // ---------------------------------------------------------------- measured window
    // e2ee on a system started here: the key directory's counters at the start of the window (the summary's E2EE block).
    const keyProbe = plan.traffic.e2ee && local ? await KeyDirectoryProbe.open(chatMetricsUrls(local)) : null;
    const startAt = o.waitForStart ? await untilStopped(o.waitForStart()) : o.startAtEpochMs ?? Date.now() + START_DELAY_MS;
    if (o.stop?.aborted) await setupStopped;
    if (startAt < Date.now()) throw new Error(`--start-at ${startAt} is in the past (now ${Date.now()})`);
    const sysCpuStart = system ? system.cpuSeconds() : null;
    measuredStartMs = startAt;
    for (const h of handles) h.send({ type: 'start', atEpochMs: startAt });
    faults?.start(startAt);
    setTimeout(markCpu, Math.max(0, startAt - Date.now())).unref();
    // From here a stop ends the measured window early: workers stop scheduling, wait out the delivery grace and count.
    if (o.stop) {
      o.stop.removeEventListener('abort', onStop!);
      onStop = () => abort(stopReason(), Math.max(0, Date.now() - measuredStartMs));
      o.stop.addEventListener('abort', onStop, { once: true });
    }
    dones = await Promise.all(handles.map((h) => h.done));
    await faults?.finish();
    completeIntervals(true);
    const measuredMs = Math.max(...dones.map((d) => d.measuredMs));
    keyDirectory = await keyProbe?.figures().catch((err: Error) => (warnings.push(`key directory figures: ${err.message}`), null)) ?? null;
    if (system && sysCpuStart) systemUsage = systemUsageSince(system, sysCpuStart, measuredMs, rssIdle, rssConnected);
  } finally {
    // ---------------------------------------------------------------- teardown
    if (onStop) o.stop?.removeEventListener('abort', onStop);
    const teardownStart = Date.now();
    // Never leave a process frozen, even when the run failed.
    await faults?.finish();
    for (const h of handles) h.send({ type: 'teardown' });
    await withTimeout(Promise.all(handles.map((h) => h.closed)), TEARDOWN_TIMEOUT_MS, 'workers closing').catch(() => {});
    await Promise.all(handles.map((h) => h.worker.terminate()));
    if (system) await system.stop();
    teardownMs = Date.now() - teardownStart;
    for (const out of o.outputs) await out.close?.();
  }

  const setupAgg = new MetricsAggregate();
  if (setupConnect.count > 0) setupAgg.trends.set('connect_time', setupConnect);
  agg.durationMs = Math.max(...dones.map((d) => d.measuredMs));
  const summary = finishSummary({
    version: SUMMARY_VERSION,
    run_id: o.runId,
    scenario: {
      name: o.scenario.name, file: o.scenarioFile, description: o.scenario.description, production: o.scenario.production,
      scale: { factor: plan.scaleFactor, basis: o.scenario.scale.basis, multiplier: plan.scale },
    },
    plan,
    thresholds_spec: o.scenario.options.thresholds ?? {},
    breakpoint_spec: o.scenario.breakpoint ?? null,
    command: o.command,
    machine: { ...machineInfo(), loadavg_1m_start: loadavgStart },
    started_at: startedAt,
    shards: [o.shard],
    workers: o.workers,
    interval_ms: intervalMs,
    target: { driver: o.driver, urls: targetUrls, started_by_loadgen: system !== null, transport: o.transport, ...(store ? { store } : {}) },
    phases: {
      setup_ms: setupMs, measured_ms: Math.round(agg.durationMs), grace_ms: Math.round(Math.max(...dones.map((d) => d.graceMs))), teardown_ms: teardownMs,
    },
    setup: { connected: setupConnected, failed: setupFailed, groups_created: groupsCreated, ...(e2eeWarmup ? { e2ee_warmup: e2eeWarmup } : {}), connect_time: setupAgg.toJSON().connect_time ?? null },
    aborted,
    timeline,
    loadgen: {
      cpu_percent_avg: cpuIntervals ? Math.round((cpuPercentSum / cpuIntervals) * 10) / 10 : 0, busiest_thread_cpu_percent_max: busiestMax, warnings,
      rss_start_bytes: loadgenRssStart,
    },
    system: systemUsage,
  }, agg, {
    firstReconnectMs: minNonNeg(dones.map((d) => d.firstReconnectMs)),
    lastDrainDoneMs: Math.max(-1, ...dones.map((d) => d.lastDrainDoneMs)),
  });
  const lostExamples = dones.flatMap((d) => d.lostExamples ?? []).slice(0, 10);
  if (lostExamples.length > 0) summary.reports.lost_examples = lostExamples;
  if (summary.reports.e2ee) summary.reports.e2ee.key_directory = keyDirectory;
  faults?.report(summary, timeline, intervalMs, measuredStartMs, agg.counter('delivery_lost'));
  summary.exit_code = exitCodeOf(summary);
  for (const out of o.outputs) await out.end?.(summary, o.outDir);
  return summary;
}

async function provisionUsersOf(chatTarget: string, first: number, n: number, secret: string): Promise<void> {
  const { provisionUsers } = await import('./provision');
  await provisionUsers(chatTarget, first, n, secret);
}

function mergeExecutorStatus(statuses: WorkerStatus[]): ExecutorStatus[] {
  const byName = new Map<string, ExecutorStatus>();
  for (const s of statuses) {
    for (const e of s.executors) {
      const m = byName.get(e.name);
      if (!m) byName.set(e.name, { ...e });
      else {
        m.active += e.active;
        m.allocated += e.allocated;
        if (m.state !== e.state) m.state = 'running';
      }
    }
  }
  return [...byName.values()];
}

function knownRss(rss: Record<string, number | null>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, v] of Object.entries(rss)) if (v !== null) out[name] = v;
  return out;
}

function minNonNeg(xs: number[]): number {
  const v = xs.filter((x) => x >= 0);
  return v.length ? Math.min(...v) : -1;
}
