// `reconnect`: one iteration brings back the next offline user (those the
// disconnect workload dropped, and those offline from the start), and lasts
// until the server says its offline queue is drained (DrainDone): so
// iteration_duration and drain_time are the time to drain, and
// offline_delivery_latency times each queued message from the moment the
// user started coming back (the seed's "offline delivery < 500 ms").
import type { Vu, Workload } from '../executors/executor';
import type { World } from '../world/world';

export class ReconnectWorkload implements Workload {
  constructor(private readonly world: World) {}

  iterate(vu: Vu): void {
    const w = this.world;
    const u = w.reconnects.nextOffline();
    if (u < 0) {
      vu.executor.iterationDone(vu, vu.gen, true);
      return;
    }
    const gen = vu.gen;
    const start = w.now();
    w.reconnects.begin(u, start);
    if (w.driver.acks) {
      // Bounded: a drain that never finishes fails the iteration after iterationTimeout.
      w.reconnects.awaitDrain(u, vu, w.plan.iterationTimeoutMs, () => {
        w.metrics.counter.iteration_timeouts.add(1, vu.executor.cfg.index);
        w.reconnects.failed('drain_timeout');
        vu.executor.iterationDone(vu, gen, false);
      });
    }
    w.connections.connect(u).then(
      () => {
        w.metrics.trend.connect_time.record(w.now() - start);
        if (!w.driver.acks) {
          w.metrics.rate.reconnect_success.add(true);
          vu.executor.iterationDone(vu, gen, true);
        }
      },
      (err: unknown) => {
        w.reconnects.cancelDrain(u);
        w.metrics.counter.connect_errors.add(1);
        w.reconnects.failed(connectFailure(err));
        w.reconnects.queueOffline(u);
        vu.executor.iterationDone(vu, gen, false);
      },
    );
  }
}

/** A failed connect's reason: the upgrade's HTTP status (upgrade_401) or the socket error's code (connect_ECONNREFUSED). */
function connectFailure(err: unknown): string {
  const e = err as { status?: number; code?: string } | null;
  if (typeof e?.status === 'number') return `upgrade_${e.status}`;
  return `connect_${typeof e?.code === 'string' && /^[A-Z_]{1,32}$/.test(e.code) ? e.code : 'error'}`;
}
