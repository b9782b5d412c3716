// `group`: one iteration sends one message to a group chat, from the next
// active member (online, or reconnecting: then it waits in the sender's
// outbox) of the next group (groups round robin, members round robin within
// a group), sized by the traffic model. The server stores it once and fans it
// out to every other member; each recipient's delivery is timed from the
// iteration's scheduled time. The iteration ends at the send's outcome.
import type { ResolvedExecutor } from '../model/plan';
import type { Vu, Workload } from '../executors/executor';
import type { World } from '../world/world';
import { SendFailure } from '../world/send-outcomes';

/** Send one group message; false (nothing sent) when no group has an active member. */
export function sendToNextGroup(world: World, vu: Vu, scenario: number): boolean {
  const next = world.nextGroupSend();
  if (next === null) return false;
  world.sendGroup(vu, next.group, next.pos, scenario, world.nextMessageBytes());
  return true;
}

/** Nobody could send this iteration's message: it fails as no_sender. */
export function failNoSender(world: World, vu: Vu, scenario: number): void {
  world.outcomes.failed(scenario, SendFailure.NO_SENDER);
  vu.executor.iterationDone(vu, vu.gen, false);
}

export class GroupWorkload implements Workload {
  constructor(private readonly world: World, private readonly cfg: ResolvedExecutor) {}

  iterate(vu: Vu): void {
    const s = this.cfg.index;
    this.world.outcomes.scheduled(s);
    if (!sendToNextGroup(this.world, vu, s)) failNoSender(this.world, vu, s);
  }

  dropped(): void {
    this.world.outcomes.scheduled(this.cfg.index);
    this.world.outcomes.dropped(this.cfg.index);
  }
}
