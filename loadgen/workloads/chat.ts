// `chat`: one iteration sends one 1:1 message from the next online user
// (round robin) to its next contact (round robin per sender: every chat is
// opened after contactsPerUser sends, so a short warm-up covers them all), sized by the traffic
// model. It ends when the target durably accepts it (the `sent` ack) or, on a
// bare target, when the recipient gets it.
import type { ResolvedExecutor } from '../engine/plan';
import type { Vu, Workload } from '../executors/executor';
import type { World } from '../workers/world';
import { PAYLOAD_HEADER_BYTES, writeHeader } from './payload';

export class ChatWorkload implements Workload {
  private readonly bodies = new Map<number, Buffer>();
  private readonly scenario: number;
  private scheduledMs = 0;
  private readonly stamp = (buf: Buffer, stream: number, num: number, slot: number): void =>
    writeHeader(buf, this.scheduledMs, stream, num, slot, this.scenario);

  constructor(private readonly world: World, cfg: ResolvedExecutor) {
    this.scenario = cfg.index;
  }

  iterate(vu: Vu): void {
    const w = this.world;
    const sender = w.nextSender();
    if (sender < 0) {
      vu.executor.iterationDone(vu, vu.gen, false);
      return;
    }
    const size = Math.max(PAYLOAD_HEADER_BYTES, w.messageBytes(w.rng));
    // One reusable zero-padded buffer per size: the connection copies it into the frame.
    let body = this.bodies.get(size);
    if (!body) this.bodies.set(size, (body = Buffer.alloc(size)));
    this.scheduledMs = vu.scheduledMs;
    w.send(vu, sender, w.nextContact(sender), this.scenario, body, this.stamp);
  }
}
