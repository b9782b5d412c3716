// `chat`: one iteration sends one message. With probability groupShare (the
// traffic model's 1:1 vs group mix) it goes to a group (see ./group.ts);
// otherwise it is a 1:1 message from the next active user (round robin:
// online, or reconnecting after the target closed its connection, in which
// case the message waits in its outbox) to its next contact (round robin per
// sender: every chat is opened after contactsPerUser sends, so a short
// warm-up covers them all), sized by the traffic model. It ends at the
// send's outcome (world/send-outcomes.ts): the target durably accepts it (the
// `sent` ack; on a bare target, the recipient gets it), or it fails.
// With probability mediaShare it is a 1:1 media message instead: the file is
// uploaded first, then the message carries its reference (world/media-sends.ts).
import type { ResolvedExecutor } from '../model/plan';
import type { Vu, Workload } from '../executors/executor';
import type { World } from '../world/world';
import { failNoSender, sendToNextGroup } from './group';
import { SendFailure } from '../world/send-outcomes';

export class ChatWorkload implements Workload {
  private readonly scenario: number;
  private readonly groupShare: number;
  private readonly mediaShare: number;

  constructor(private readonly world: World, cfg: ResolvedExecutor) {
    this.scenario = cfg.index;
    this.groupShare = world.groups.count > 0 ? world.plan.traffic.groupShare : 0;
    this.mediaShare = world.media ? world.plan.traffic.mediaShare : 0;
  }

  iterate(vu: Vu): void {
    const w = this.world;
    w.outcomes.scheduled(this.scenario);
    // Drawn only when media is on, so runs without it draw the same numbers as before.
    if (this.mediaShare > 0 && w.rng.next() < this.mediaShare) return this.sendMedia(vu);
    if (this.groupShare > 0 && w.rng.next() < this.groupShare && sendToNextGroup(w, vu, this.scenario)) return;
    const sender = w.active.next();
    if (sender < 0) return failNoSender(w, vu, this.scenario);
    w.send(vu, sender, w.contacts.next(sender), this.scenario, w.nextMessageBytes());
  }

  private sendMedia(vu: Vu): void {
    const w = this.world;
    const sender = w.active.next();
    if (sender < 0) {
      w.media!.failedAtOnce(this.scenario, SendFailure.NO_SENDER);
      return failNoSender(w, vu, this.scenario);
    }
    w.sendMedia(vu, sender, w.contacts.next(sender), this.scenario);
  }

  dropped(): void {
    const w = this.world;
    w.outcomes.scheduled(this.scenario);
    w.outcomes.dropped(this.scenario);
    if (this.mediaShare > 0 && w.rng.next() < this.mediaShare) w.media!.dropped(this.scenario);
  }
}
