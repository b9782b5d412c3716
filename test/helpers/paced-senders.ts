// Senders for the multi-node tests: each user sends to one peer every PACE_MS,
// one message at a time, through a ReconnectingDevice (after a close it
// reconnects and resends with the same client_msg_id, as an app does), and
// records every acknowledgement with its time, so a test can ask "were the
// chats on node X acknowledged while node Y was frozen?".
import { withTimeout } from '../../lib/async';
import { directChatId } from '../../server/common/chat-id';
import { ReconnectingDevice } from './reconnecting-device';
import { sleep, text } from './system';

/** Pause between one acknowledged send and the next (per sender). */
const PACE_MS = 50;
/** One send, across its reconnects and resends, fails past this. */
const SEND_TIMEOUT_MS = 30_000;

export interface PacedAck {
  chatId: string;
  clientMsgId: string;
  id: number;
  atMs: number;
}

export class PacedSender {
  readonly acks: PacedAck[] = [];
  failures: string[] = [];
  private running = true;
  private loop: Promise<void> = Promise.resolve();

  constructor(readonly device: ReconnectingDevice, readonly peer: number) {}

  get chatId(): string {
    return directChatId(this.device.userId, this.peer);
  }

  start(): void {
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  /** Acks in [fromMs, toMs). */
  acksBetween(fromMs: number, toMs: number): PacedAck[] {
    return this.acks.filter((a) => a.atMs >= fromMs && a.atMs < toMs);
  }

  private async run(): Promise<void> {
    for (let i = 0; this.running; i++) {
      const clientMsgId = `${this.device.userId}-${i}`;
      try {
        const id = await withTimeout(this.device.sendReliably(this.peer, clientMsgId, text(clientMsgId)), SEND_TIMEOUT_MS, clientMsgId);
        this.acks.push({ chatId: this.chatId, clientMsgId, id, atMs: Date.now() });
      } catch (err) {
        this.failures.push((err as Error).message);
      }
      await sleep(PACE_MS);
    }
  }
}

/** The longest time without an ack in [fromMs, toMs] over the merged acks of `senders` (edges count). */
export function longestAckGapMs(senders: PacedSender[], fromMs: number, toMs: number): number {
  const times = senders.flatMap((s) => s.acksBetween(fromMs, toMs).map((a) => a.atMs)).sort((a, b) => a - b);
  let gap = 0;
  let prev = fromMs;
  for (const t of [...times, toMs]) {
    gap = Math.max(gap, t - prev);
    prev = t;
  }
  return gap;
}
