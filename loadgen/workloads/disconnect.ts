// `disconnect`: one iteration drops the next user of the traffic model's drop
// set (reconnect.dropShare of the users online at the start) by closing its
// connection, as a phone losing its network would. The others keep sending
// to it; the server queues those messages. Past the end of the set an
// iteration does nothing.
import type { Vu, Workload } from '../executors/executor';
import type { World } from '../world/world';

export class DisconnectWorkload implements Workload {
  constructor(private readonly world: World) {}

  iterate(vu: Vu): void {
    const w = this.world;
    const u = w.reconnects.nextToDrop();
    if (u >= 0) {
      w.disconnect(u);
      w.reconnects.queueOffline(u);
      w.metrics.counter.users_dropped.add(1);
    }
    vu.executor.iterationDone(vu, vu.gen, true);
  }
}
