// Sends in flight: one pooled slot per send waiting for its reply (the `sent`
// ack, or on a bare target the delivery itself), from the moment it is made
// (on the wire, or waiting in the user's outbox) until its outcome, found again by the ref the
// target echoes (ref = slot + 1 + the slot's use count mod 256 * 2^23, so a
// late answer to an earlier use of the slot, or to an earlier copy of a
// resent send, is not taken for the current one) or, on a bare target, by the slot written in
// the message header. Every slot taken is also queued for its timeout in send
// order, so expiring walks from the head and stops at the first send still in
// time. Slots are reused: no allocation per send besides the timeout entry.
// Refs stay below 2^31: the connection's own requests (key fetches, group
// creation) use refs from SEND_REFS_END (drivers/connection.ts) up, so their replies are never taken
// for a send's.
import type { Vu } from '../executors/executor';
import { invariant } from '../../lib/invariant';

/** Slots a pool holds at most: the slot index fills the low 23 bits of a ref (a uint32 on the wire). */
export const SEND_SLOTS_MAX = 2 ** 23;
const REF_SLOT_MASK = SEND_SLOTS_MAX - 1;
/** 256 uses: (0xff * 2^23 + 2^23 - 1) < SEND_REFS_END. */
const REF_SEQ_MASK = 0xff;

/** An in-flight send, pooled; its ref on the wire is refOf(p). */
export interface PendingSend {
  index: number;
  /** Bumped on every reuse, so a stale timeout entry or late reply is recognised. */
  seq: number;
  inUse: boolean;
  vu: Vu | null;
  gen: number;
  sender: number;
  stream: number;
  number: number;
  scheduledMs: number;
  sentAtMs: number;
  scenario: number;
  /** The group sent to (stream = group * 256 + sender position), or -1 for a 1:1 message. */
  group: number;
  /** 1:1: the sender's contact index; group: the sender's position (with `number`, the client_msg_id). */
  contact: number;
  /** Body size (the body is rebuilt from these fields for every transmission). */
  bytes: number;
  /** Place in the world's send order (the outbox keeps each user's sends in it). */
  order: number;
  /** Waiting in the sender's outbox (not on the wire). */
  queued: boolean;
  /** Times written to the target (> 1: retried with the same client_msg_id). */
  transmits: number;
  /** Retries after a retryable error (bounded). */
  errorRetries: number;
  /** Has waited in the outbox at least once (counted once in sends_outboxed). */
  outboxed: boolean;
  /** The media send this message carries the reference of (./media-sends.ts), or -1 for a plain message. */
  media: number;
  /** Its body (load header space, then the reference): kept here, so a resend after the file was verified still has it. */
  mediaBody: Buffer | null;
}

export class SendPool {
  private readonly slots: PendingSend[] = [];
  private readonly free: number[] = [];
  /** In-use slots per sender (to abandon them when its connection closes). */
  private readonly bySender: Int32Array;
  private readonly timeoutFifo: { p: PendingSend; seq: number }[] = [];
  private timeoutHead = 0;
  private nextOrder = 0;

  constructor(users: number) {
    this.bySender = new Int32Array(users);
  }

  /** A slot for this message, made at `now`: it waits for its reply (or its timeout). */
  take(vu: Vu, sender: number, stream: number, num: number, scenario: number, group: number, contact: number, bytes: number, now: number): PendingSend {
    const idx = this.free.pop();
    let p: PendingSend;
    if (idx === undefined) {
      invariant(this.slots.length < SEND_SLOTS_MAX - 1, 'send slots fit a ref');
      p = {
        index: this.slots.length, seq: 0, inUse: false, vu: null, gen: 0, sender: 0, stream: 0, number: 0, scheduledMs: 0, sentAtMs: 0,
        scenario: 0, group: -1, contact: 0, bytes: 0, order: 0, queued: false, transmits: 0, errorRetries: 0, outboxed: false, media: -1, mediaBody: null,
      };
      this.slots.push(p);
    } else {
      p = this.slots[idx]!;
    }
    p.seq++;
    p.inUse = true;
    this.timeoutFifo.push({ p, seq: p.seq });
    p.vu = vu;
    p.gen = vu.gen;
    p.sender = sender;
    p.stream = stream;
    p.number = num;
    p.scheduledMs = vu.scheduledMs;
    p.scenario = scenario;
    p.group = group;
    p.contact = contact;
    p.bytes = bytes;
    p.order = this.nextOrder++;
    p.queued = false;
    p.transmits = 0;
    p.errorRetries = 0;
    p.outboxed = false;
    p.media = -1;
    p.mediaBody = null;
    this.bySender[sender]!++;
    p.sentAtMs = now;
    return p;
  }

  /** Sends waiting for their outcome. */
  get inUseCount(): number {
    return this.slots.length - this.free.length;
  }

  /** Free the slot and end its iteration. */
  release(p: PendingSend, ok: boolean): void {
    p.inUse = false;
    this.bySender[p.sender]!--;
    const vu = p.vu!;
    p.vu = null;
    this.free.push(p.index);
    vu.executor.iterationDone(vu, p.gen, ok);
  }

  /** The ref a transmission of `p` carries (the target echoes it on the ack or error). */
  refOf(p: PendingSend): number {
    return (p.seq & REF_SEQ_MASK) * SEND_SLOTS_MAX + p.index + 1;
  }

  /** The send a reply with this ref answers, if it is still waiting (else it timed out already, or the slot moved on). */
  ofRef(ref: number, sender: number): PendingSend | null {
    const p = this.slots[(ref & REF_SLOT_MASK) - 1];
    return p !== undefined && p.inUse && p.sender === sender && (p.seq & REF_SEQ_MASK) === ref >>> 23 ? p : null;
  }

  /** The send a delivered header names (bare targets: the iteration ends at the delivery), if still waiting. */
  ofHeader(slot: number, stream: number, num: number): PendingSend | null {
    const p = this.slots[slot];
    return p !== undefined && p.inUse && p.stream === stream && p.number === num ? p : null;
  }

  hasInFlight(sender: number): boolean {
    return this.bySender[sender] !== 0;
  }

  /** Each send of `sender` still in flight, to `f` (which may release it). */
  forEachOf(sender: number, f: (p: PendingSend) => void): void {
    for (const p of this.slots) if (p.inUse && p.sender === sender) f(p);
  }

  /** Every send waiting for its outcome, to `f` (which may release it). */
  forEachInUse(f: (p: PendingSend) => void): void {
    for (const p of this.slots) if (p.inUse) f(p);
  }

  /** Free the slot without ending its iteration (the run is over: its outcome was counted already). */
  forget(p: PendingSend): void {
    p.inUse = false;
    this.bySender[p.sender]!--;
    p.vu = null;
    this.free.push(p.index);
  }

  /** Sends older than `timeoutMs` at `now`, oldest first, to `onExpired` (which must release them). */
  expire(now: number, timeoutMs: number, onExpired: (p: PendingSend) => void): void {
    const limit = now - timeoutMs;
    const fifo = this.timeoutFifo;
    while (this.timeoutHead < fifo.length) {
      const e = fifo[this.timeoutHead]!;
      if (e.p.seq === e.seq && e.p.inUse) {
        if (e.p.sentAtMs > limit) break;
        onExpired(e.p);
      }
      this.timeoutHead++;
    }
    if (this.timeoutHead > 4096 && this.timeoutHead * 2 > fifo.length) {
      fifo.splice(0, this.timeoutHead);
      this.timeoutHead = 0;
    }
  }
}
