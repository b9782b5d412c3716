// `reconnect`: one iteration brings back the next offline user (those the
// disconnect workload dropped, and those offline from the start), and lasts
// until the server says its offline queue is drained (DrainDone): so
// iteration_duration and drain_time are the time to drain, and
// offline_delivery_latency times each queued message from the moment the
// user started coming back (the seed's "offline delivery < 500 ms").
import type { Vu, Workload } from '../executors/executor';
import { UserState, type World } from '../workers/world';

export class ReconnectWorkload implements Workload {
  constructor(private readonly world: World) {}

  iterate(vu: Vu): void {
    const w = this.world;
    let u = -1;
    while (w.offlineHead < w.offlineQueue.length) {
      const c = w.offlineQueue[w.offlineHead++]!;
      if (w.state[c] === UserState.Offline) {
        u = c;
        break;
      }
    }
    if (u < 0) {
      vu.executor.iterationDone(vu, vu.gen, true);
      return;
    }
    const gen = vu.gen;
    const start = w.now();
    w.reconnectStartMs[u] = start;
    if (w.firstReconnectMs === 0) w.firstReconnectMs = start;
    if (w.driver.acks) {
      w.awaitingDrain[u] = { vu, gen };
      // Bounded: a drain that never finishes fails the iteration after iterationTimeout.
      setTimeout(() => {
        const waiting = w.awaitingDrain[u];
        if (waiting && waiting.vu === vu && waiting.gen === gen) {
          w.awaitingDrain[u] = null;
          w.metrics.counter.iteration_timeouts.add(1, vu.executor.cfg.index);
          w.metrics.rate.reconnect_success.add(false);
          vu.executor.iterationDone(vu, gen, false);
        }
      }, w.plan.iterationTimeoutMs).unref();
    }
    w.connect(u).then(
      () => {
        w.metrics.trend.connect_time.record(w.now() - start);
        if (!w.driver.acks) {
          w.metrics.rate.reconnect_success.add(true);
          vu.executor.iterationDone(vu, gen, true);
        }
      },
      () => {
        w.awaitingDrain[u] = null;
        w.metrics.counter.connect_errors.add(1);
        w.metrics.rate.reconnect_success.add(false);
        w.offlineQueue.push(u);
        vu.executor.iterationDone(vu, gen, false);
      },
    );
  }
}
