// `chat`: one iteration sends one message. With probability groupShare (the
// traffic model's 1:1 vs group mix) it goes to a group (see ./group.ts);
// otherwise it is a 1:1 message from the next online user (round robin) to
// its next contact (round robin per sender: every chat is opened after
// contactsPerUser sends, so a short warm-up covers them all), sized by the
// traffic model. It ends when the target durably accepts it (the `sent` ack)
// or, on a bare target, when the recipient gets it.
import type { ResolvedExecutor } from '../model/plan';
import type { Vu, Workload } from '../executors/executor';
import type { World } from '../world/world';
import { BodyPool, sendToNextGroup } from './group';

export class ChatWorkload implements Workload {
  private readonly pool: BodyPool;
  private readonly scenario: number;
  private readonly groupShare: number;

  constructor(private readonly world: World, cfg: ResolvedExecutor) {
    this.scenario = cfg.index;
    this.pool = new BodyPool(cfg.index);
    this.groupShare = world.groups.count > 0 ? world.plan.traffic.groupShare : 0;
  }

  iterate(vu: Vu): void {
    const w = this.world;
    if (this.groupShare > 0 && w.rng.next() < this.groupShare && sendToNextGroup(w, vu, this.pool, this.scenario)) return;
    const sender = w.online.next();
    if (sender < 0) {
      vu.executor.iterationDone(vu, vu.gen, false);
      return;
    }
    w.send(vu, sender, w.contacts.next(sender), this.scenario, this.pool.body(w, vu), this.pool.stamp);
  }
}
