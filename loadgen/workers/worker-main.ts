// A load generator worker thread: owns one segment (a slice of users and a
// stripe of every scenario's iterations), runs its setup (connect), waits
// for the common start time, drives the executors from one scheduler loop,
// ships a metrics snapshot per interval, then waits out the delivery grace,
// counts what is missing and closes its connections when told to.
import { parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import type { FromWorker, ToWorker, WorkerInit } from './protocol';
import { MetricsRegistry } from '../metrics/registry';
import { World } from '../world/world';
import { setUpWorld } from '../world/setup';
import { BareLoadDriver } from '../drivers/bare-connection';
import { SystemLoadDriver } from '../drivers/system-connection';
import type { LoadDriver } from '../drivers/connection';
import { Scheduler } from './scheduler';
import { threadCpuSeconds } from '../../lib/proc-cpu';

const init = workerData as WorkerInit;
const port = parentPort!;

function post(m: FromWorker): void {
  port.postMessage(m);
}

function log(line: string): void {
  post({ type: 'log', line: `[worker ${init.workerId}] ${line}` });
}

async function main(): Promise<void> {
  const { plan, segment, target } = init;
  const metrics = new MetricsRegistry(plan.executors.map((e) => e.name), init.tagged);
  const driver: LoadDriver = target.driver === 'bare'
    ? new BareLoadDriver(target.urls, target.transport, plan.traffic.users)
    : new SystemLoadDriver({
      urls: target.urls, identities: target.identities, transport: target.transport, tls: target.tls, ackDelayMs: target.ackDelayMs, totalUsers: plan.traffic.users,
      e2ee: plan.traffic.e2ee ? metrics : null,
    });
  const world = new World(segment, plan, driver, metrics, init.localAddresses);

  let scheduler: Scheduler | null = null;
  let abortReason = '';
  let startAt: number | null = null;
  let teardown = false;
  let wakeStart: (() => void) | null = null;
  let wakeTeardown: (() => void) | null = null;
  port.on('message', (m: ToWorker) => {
    if (m.type === 'start') {
      startAt = m.atEpochMs;
      wakeStart?.();
    } else if (m.type === 'abort') {
      abortReason = m.reason;
      scheduler?.abort();
    } else if (m.type === 'teardown') {
      teardown = true;
      scheduler?.abort();
      wakeStart?.();
      wakeTeardown?.();
    }
  });

  const setup = await setUpWorld(world, init.touchOffline, log);
  post({ type: 'ready', setup });
  if (startAt === null && !teardown) await new Promise<void>((r) => (wakeStart = r));
  if (teardown || startAt === null) return finishTeardown(world, driver);

  // The common start, in this thread's monotonic clock.
  const t0 = performance.now() + (startAt - Date.now());
  let cpuLast = threadCpuSeconds();
  scheduler = new Scheduler(world, plan, segment, metrics, t0, init.intervalMs, (index, snap) => {
    const cpu = threadCpuSeconds();
    const threadCpuS = cpu !== null && cpuLast !== null ? cpu - cpuLast : null;
    cpuLast = cpu;
    post({
      type: 'interval', index, snap,
      status: {
        threadCpuS,
        outstanding: 0,
        executors: scheduler!.executors.map((e) => ({ name: e.cfg.name, state: e.state, active: e.active, allocated: e.allocated })),
      },
    });
  }, log);
  if (abortReason) scheduler.abort();
  const done = await scheduler.run();
  post({ type: 'done', done });
  if (!teardown) await new Promise<void>((r) => (wakeTeardown = r));
  return finishTeardown(world, driver);
}

/** Below the coordinator's 15 s wait for 'closed' (engine/run.ts TEARDOWN_TIMEOUT_MS). */
const DRIVER_SETTLE_MS_MAX = 10_000;

async function finishTeardown(world: World, driver: LoadDriver): Promise<void> {
  world.closeAll();
  // The coordinator terminates the thread after 'closed': native work in flight must be done by then (e2ee).
  if (driver.settle && !(await driver.settle(DRIVER_SETTLE_MS_MAX))) log(`teardown: the driver's work in flight did not finish within ${DRIVER_SETTLE_MS_MAX} ms`);
  // Give close frames a moment to leave, then say so; the coordinator ends the thread.
  setTimeout(() => post({ type: 'closed' }), 50);
}

main().catch((err: Error) => {
  post({ type: 'fatal', message: err?.message ?? String(err) });
});
