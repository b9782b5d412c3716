// The sender side of receipts: per sender and chat, the messages the target
// acknowledged, in id order, until a delivered or read receipt (a watermark)
// covers them. Each covered message records receipt_delivered_latency or
// receipt_read_latency from its scheduled time.
import type { MetricsRegistry, TrendRecorder } from '../metrics/registry';

/** Per sender and chat, messages awaiting their receipts; older ones are forgotten past this. */
const RECEIPT_QUEUE_MAX = 100_000;

class ReceiptQueue {
  ids: number[] = [];
  times: number[] = [];
  /** Next entry awaiting a delivered receipt / a read receipt. */
  dHead = 0;
  rHead = 0;
  constructor(private readonly trackRead: boolean) {}
  push(id: number, scheduledMs: number): void {
    if (this.ids.length - this.low() >= RECEIPT_QUEUE_MAX) {
      this.dHead++;
      this.rHead++;
    }
    this.ids.push(id);
    this.times.push(scheduledMs);
  }
  /**
   * A receipt watermark covers every entry up to `upTo`. A read watermark
   * implies delivered, so it also covers what no delivered receipt covered yet.
   */
  cover(kind: number, upTo: number, now: number, delivered: TrendRecorder, read: TrendRecorder): void {
    while (this.dHead < this.ids.length && this.ids[this.dHead]! <= upTo) delivered.record(now - this.times[this.dHead++]!);
    if (kind === 2 && this.trackRead) {
      while (this.rHead < this.ids.length && this.ids[this.rHead]! <= upTo) read.record(now - this.times[this.rHead++]!);
    }
    this.compact();
  }
  private low(): number {
    return this.trackRead ? Math.min(this.dHead, this.rHead) : this.dHead;
  }
  private compact(): void {
    const low = this.low();
    if (low > 1024 && low * 2 > this.ids.length) {
      this.ids = this.ids.slice(low);
      this.times = this.times.slice(low);
      this.dHead -= low;
      this.rHead -= low;
    }
  }
}

export class Receipts {
  private readonly bySender: (Map<string, ReceiptQueue> | undefined)[];

  /** `trackRead`: recipients send read receipts (the traffic model's readReceipts.probability > 0). */
  constructor(users: number, private readonly trackRead: boolean, private readonly metrics: MetricsRegistry) {
    this.bySender = new Array(users);
  }

  /** The target acknowledged message `id` of `sender` in `chatId`: it now awaits its receipts. */
  acknowledged(sender: number, chatId: string, id: number, scheduledMs: number): void {
    let byChat = this.bySender[sender];
    if (!byChat) this.bySender[sender] = byChat = new Map();
    let q = byChat.get(chatId);
    if (!q) byChat.set(chatId, (q = new ReceiptQueue(this.trackRead)));
    q.push(id, scheduledMs);
  }

  /** A delivered (kind 1) or read (kind 2) watermark for `sender`'s messages in `chatId`. */
  receipt(sender: number, chatId: string, kind: number, upTo: number, now: number): void {
    const q = this.bySender[sender]?.get(chatId);
    if (!q) return;
    const t = this.metrics.trend;
    q.cover(kind, upTo, now, t.receipt_delivered_latency, t.receipt_read_latency);
  }
}
