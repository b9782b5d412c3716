// `group`: one iteration sends one message to a group chat, from the next
// online member of the next group (groups round robin, members round robin
// within a group), sized by the traffic model. The server stores it once and
// fans it out to every other member; each recipient's delivery is timed from
// the iteration's scheduled time. The iteration ends at the `sent` ack.
import type { ResolvedExecutor } from '../model/plan';
import type { Vu, Workload } from '../executors/executor';
import type { World } from '../world/world';
import { PAYLOAD_HEADER_BYTES, writeHeader } from '../model/payload';

/** Reusable zero-padded bodies per size, stamped with the scheduled time of the iteration being sent. */
export class BodyPool {
  private readonly bodies = new Map<number, Buffer>();
  scheduledMs = 0;
  readonly stamp = (buf: Buffer, stream: number, num: number, slot: number): void =>
    writeHeader(buf, this.scheduledMs, stream, num, slot, this.scenario);

  constructor(private readonly scenario: number) {}

  /** The body for this iteration: one buffer per size (the connection copies it into the frame). */
  body(world: World, vu: Vu): Buffer {
    const size = Math.max(PAYLOAD_HEADER_BYTES, world.nextMessageBytes());
    let body = this.bodies.get(size);
    if (!body) this.bodies.set(size, (body = Buffer.alloc(size)));
    this.scheduledMs = vu.scheduledMs;
    return body;
  }
}

/** Send one group message; false (nothing sent) when no group has an online member. */
export function sendToNextGroup(world: World, vu: Vu, pool: BodyPool, scenario: number): boolean {
  const next = world.nextGroupSend();
  if (next === null) return false;
  world.sendGroup(vu, next.group, next.pos, scenario, pool.body(world, vu), pool.stamp);
  return true;
}

export class GroupWorkload implements Workload {
  private readonly pool: BodyPool;

  constructor(private readonly world: World, private readonly cfg: ResolvedExecutor) {
    this.pool = new BodyPool(cfg.index);
  }

  iterate(vu: Vu): void {
    if (!sendToNextGroup(this.world, vu, this.pool, this.cfg.index)) vu.executor.iterationDone(vu, vu.gen, false);
  }
}
