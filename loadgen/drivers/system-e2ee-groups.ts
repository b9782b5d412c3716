// traffic.e2ee for group messages: one simulated user's sender keys
// (../client/e2ee/group-keys.ts), as a sender and as a member.
//
// Sending: before its first message to a group (and after a member is gone:
// a new epoch), the user gives its sender key's distribution message to every
// other member inside a 1:1 envelope (a session per member, from its bundle);
// then each group message is ONE sender-key ciphertext that every member
// opens. The distributions go on the wire before the group message (the
// caller writes them as they are sealed; the group body follows). A member the
// distribution could not reach fails the send (sends_failed{reason}) and gets
// it on the next one. The member list is passed by the caller; the same array
// again means no change, and the steady path is one encryption.
//
// Receiving: a distribution message is taken in (no world delivery); a group
// message opens with its sender's key, or waits for it (./sender-key-waits.ts)
// when it came first. A member removed from the group holds only the old
// epoch's key: a message of a later epoch never opens for it (it waits, then
// fails as no_sender_key), and the server does not deliver it anyway.
//
// Per group message, steady state: 1 libsignal group encrypt at the sender, 1
// group decrypt per member; per epoch: members - 1 distribution seals (1:1
// encrypts, and the bundle fetches of members without a session yet).
import { performance } from 'node:perf_hooks';
import { senderKeyContent } from '../client/e2ee/content';
import type { Ciphertext, E2eeDevice } from '../client/e2ee/device';
import { encodeEnvelope, GROUP_ENTRY } from '../client/e2ee/envelope';
import { GroupKeys } from '../client/e2ee/group-keys';
import type { MetricsRegistry } from '../metrics/registry';
import type { CryptoLane } from './e2ee-lane';
import { SealError } from './seal-error';
import { SenderKeyWaits } from './sender-key-waits';

/** How a group send reaches members over 1:1 (the sender's connection). */
export interface DistributionIo {
  /** Seal `content` for every device of `peer` (a 1:1 envelope), fetching its bundle first if needed. */
  seal(peer: number, content: Uint8Array): Promise<Uint8Array>;
  /** Write a sealed distribution message to `peer` as a 1:1 send. */
  send(peer: number, sealed: Uint8Array): void;
}

/** A group message that waits for its sender's key. */
export interface AwaitingKey {
  awaiting: Promise<Uint8Array>;
}

const noop = (): void => {};

export class E2eeGroups {
  readonly keys: GroupKeys;
  private readonly waits = new SenderKeyWaits();
  /** Per group: the last send's preparation (a send's distributions go before the next send's). */
  private readonly preparing = new Map<string, Promise<void>>();
  /** Per group: the member list the current epoch's key has reached in full. */
  private readonly keyedFor = new Map<string, readonly number[]>();

  constructor(
    private readonly device: E2eeDevice,
    private readonly lane: CryptoLane,
    private readonly metrics: MetricsRegistry,
  ) {
    this.keys = new GroupKeys(device);
  }

  /**
   * The body of a group message to `chatId` whose members (users, the sender among them or not) are
   * `members` now: the distributions first where needed, then one ciphertext. Sends to one group keep
   * their order. Rejects with a SealError.
   */
  seal(chatId: string, members: readonly number[], plaintext: Uint8Array, io: DistributionIo): Promise<Uint8Array> {
    const ready = (this.preparing.get(chatId) ?? Promise.resolve()).then(() => this.prepare(chatId, members, io));
    this.preparing.set(chatId, ready.catch(noop));
    // This callback was added before the next send's preparation can start: the lane gets the sends in order.
    return ready.then(() => this.lane.run(() => this.encrypt(chatId, plaintext)));
  }

  private async prepare(chatId: string, members: readonly number[], io: DistributionIo): Promise<void> {
    if (this.keyedFor.get(chatId) === members) return;
    const others = members.filter((u) => u !== this.device.user);
    const plan = await this.lane.run(() => this.keys.plan(chatId, others));
    if (plan.recipients.length > 0) {
      const content = senderKeyContent(chatId, plan.distribution);
      const results = await Promise.allSettled(plan.recipients.map((u) => io.seal(u, content).then((sealed) => {
        io.send(u, sealed);
        return u;
      })));
      const reached: number[] = [];
      let failure: unknown = null;
      for (const r of results) {
        if (r.status === 'fulfilled') reached.push(r.value);
        else failure ??= r.reason;
      }
      this.keys.given(chatId, reached);
      this.metrics.counter.e2ee_sender_keys_sent.add(reached.length);
      if (failure !== null) {
        throw failure instanceof SealError ? failure : new SealError('e2ee_sender_key_failed', `sender key for ${chatId}: ${String(failure)}`);
      }
    }
    this.keyedFor.set(chatId, members);
  }

  private async encrypt(chatId: string, plaintext: Uint8Array): Promise<Uint8Array> {
    const t0 = performance.now();
    let c: Ciphertext;
    try {
      c = await this.keys.encrypt(chatId, plaintext);
    } catch (err) {
      throw new SealError('e2ee_encrypt_failed', `group encrypt for ${chatId}: ${(err as Error).message}`);
    }
    const body = encodeEnvelope(this.device.device, new Map([[GROUP_ENTRY, c]]));
    this.metrics.trend.e2ee_encrypt_time.record(performance.now() - t0);
    return body;
  }

  /** A sender's distribution message for `chatId` came (the caller holds the lane): take it in, then open what waited for it. */
  async accept(from: number, fromDevice: number, chatId: string, distribution: Uint8Array): Promise<void> {
    try {
      await this.keys.accept(from, fromDevice, distribution);
    } catch (err) {
      throw new SealError('bad_sender_key', `sender key from ${from} for ${chatId}: ${(err as Error).message}`);
    }
    this.metrics.counter.e2ee_sender_keys_received.add(1);
    await this.waits.resume(from, chatId);
  }

  /**
   * Open a group message from `from` in `chatId` (the caller holds the lane): its plaintext, or a wait for the
   * sender's key when it has not come yet or an earlier message of that sender waits for it already.
   */
  async open(from: number, fromDevice: number, chatId: string, c: Ciphertext): Promise<Uint8Array | AwaitingKey> {
    const retry = () => this.decrypt(from, fromDevice, c, false) as Promise<Uint8Array>;
    if (this.waits.has(from, chatId)) return { awaiting: this.waits.park(from, chatId, retry) };
    const r = await this.decrypt(from, fromDevice, c, true);
    return r === null ? { awaiting: this.waits.park(from, chatId, retry) } : r;
  }

  /** The plaintext; null (when `mayWait`) if the sender's key for this epoch is not here. */
  private async decrypt(from: number, fromDevice: number, c: Ciphertext, mayWait: boolean): Promise<Uint8Array | null> {
    const t0 = performance.now();
    let plain: Uint8Array;
    try {
      plain = await this.keys.decrypt(from, fromDevice, c);
    } catch (err) {
      const message = (err as Error).message;
      if (/missing sender key state/.test(message)) {
        if (mayWait) return null;
        throw new SealError('no_sender_key', `group message from ${from}: ${message}`);
      }
      throw new SealError('group_decrypt_failed', `group message from ${from}: ${message}`);
    }
    this.metrics.trend.e2ee_decrypt_time.record(performance.now() - t0);
    return plain;
  }
}
