// A chat client that encrypts every body end to end: a ChatClient (the
// protocol) plus an E2eeDevice (libsignal). It registers the device's keys in
// the directory, fetches a peer's bundles on the first message to it (one
// session per peer device, PreKeySignalMessage first), seals each body for
// every device of the peer, opens what it receives, and refills its one-time
// prekeys when the server says they run low.
//
// Groups: sender keys (group-keys.ts); the distribution message goes to each
// member over 1:1 first, then one ciphertext for the whole group.
//
// Out of scope here (docs/design/021-e2ee.md): copies for the sender's own
// other devices, a peer device added after the first fetch.
import type { DeviceBundleBody, KeysStoredBody, MessageBody, PrekeysLowBody, SentAckBody } from '../../../server/common/protocol';
import type { ChatClient } from '../chat-client';
import { decodeContent, senderKeyContent, textContent } from './content';
import { E2eeDevice, type Ciphertext } from './device';
import { decodeEnvelope, encodeEnvelope, GROUP_ENTRY } from './envelope';
import { GroupKeys } from './group-keys';

/** What a received message was, once decrypted. */
export type Received =
  | { kind: 'text'; text: Uint8Array }
  | { kind: 'group_text'; chatId: string; text: Uint8Array }
  | { kind: 'sender_key'; chatId: string }
  | { kind: 'system' };

export interface E2eeClientOptions {
  /** One-time prekeys uploaded at registration and per refill (Signal's clients use 100). */
  prekeysPerUpload?: number;
}

export class E2eeClient {
  readonly device: E2eeDevice;
  readonly groups: GroupKeys;
  /** Devices of each peer with a session (from its bundle fetch). */
  private readonly peerDevices = new Map<number, number[]>();
  private readonly prekeysPerUpload: number;
  private refilling: Promise<unknown> | null = null;
  /** One-time prekey refills done on PrekeysLow. */
  refills = 0;

  constructor(readonly chat: ChatClient, user: number, deviceId = 1, opts: E2eeClientOptions = {}) {
    this.device = new E2eeDevice(user, deviceId);
    this.groups = new GroupKeys(this.device);
    this.prekeysPerUpload = opts.prekeysPerUpload ?? 100;
    const next = chat.onFrame;
    chat.onFrame = (f) => {
      if (f.body === 'prekeys_low') this.onPrekeysLow(f.prekeys_low);
      next(f);
    };
  }

  /** Upload this device's keys (registration). */
  async register(oneTime = this.prekeysPerUpload): Promise<KeysStoredBody> {
    return this.chat.uploadKeys(await this.device.registrationUpload(oneTime));
  }

  /** The server says our one-time prekeys run low: upload more (one refill at a time). */
  onPrekeysLow(p: PrekeysLowBody): void {
    if (p.device_id !== this.device.device || this.refilling) return;
    this.refilling = this.device.refillUpload(this.prekeysPerUpload)
      .then((u) => this.chat.uploadKeys(u))
      .then(() => this.refills++)
      .finally(() => (this.refilling = null));
  }

  /** Sessions with every device of `user`, fetching its bundles once. Returns its device ids. */
  async ensureSessions(user: number): Promise<number[]> {
    const known = this.peerDevices.get(user);
    if (known) return known;
    const bundles = await this.chat.fetchKeys(user);
    if (bundles.devices.length === 0) throw new Error(`user ${user} has no keys in the directory`);
    await this.startSessions(user, bundles.devices);
    return this.peerDevices.get(user)!;
  }

  async startSessions(user: number, bundles: readonly DeviceBundleBody[]): Promise<void> {
    for (const b of bundles) await this.device.startSession(user, b);
    this.peerDevices.set(user, bundles.map((b) => b.device_id));
  }

  /** Encrypt a text for every device of `user`: the body of a Send. */
  async seal(user: number, plaintext: Uint8Array): Promise<Uint8Array> {
    return this.sealContent(user, textContent(plaintext));
  }

  private async sealContent(user: number, content: Uint8Array): Promise<Uint8Array> {
    const devices = await this.ensureSessions(user);
    const entries = new Map<number, Ciphertext>();
    for (const d of devices) entries.set(d, await this.device.encrypt(user, d, content));
    return encodeEnvelope(this.device.device, entries);
  }

  /** Seal and send (1:1); resolves with the server's ack. */
  async send(user: number, plaintext: Uint8Array, clientMsgId?: string): Promise<SentAckBody> {
    return this.chat.send(user, await this.seal(user, plaintext), clientMsgId);
  }

  /**
   * Send a text to a group whose other members are `members` now: first this device's sender key to
   * whoever does not hold the current one (a new epoch when someone is gone), over 1:1, then one
   * ciphertext for all.
   */
  async sendToGroup(chatId: string, members: readonly number[], plaintext: Uint8Array): Promise<SentAckBody> {
    const others = members.filter((u) => u !== this.device.user);
    const plan = await this.groups.plan(chatId, others);
    const content = senderKeyContent(chatId, plan.distribution);
    await Promise.all(plan.recipients.map(async (u) => this.chat.send(u, await this.sealContent(u, content))));
    this.groups.given(chatId, plan.recipients);
    const c = await this.groups.encrypt(chatId, plaintext);
    return this.chat.sendToChat(chatId, encodeEnvelope(this.device.device, new Map([[GROUP_ENTRY, c]])));
  }

  /** Decrypt a received message: a 1:1 text, a group text, or a sender key (taken in for that sender's group messages). */
  async receive(m: Pick<MessageBody, 'from_user' | 'body' | 'chat_id' | 'system'>): Promise<Received> {
    if (m.system) return { kind: 'system' };
    const env = decodeEnvelope(m.body);
    const group = env.entries.get(GROUP_ENTRY);
    if (group) return { kind: 'group_text', chatId: m.chat_id, text: await this.groups.decrypt(m.from_user, env.senderDevice, group) };
    const mine = env.entries.get(this.device.device);
    if (!mine) throw new Error(`message from ${m.from_user} carries no ciphertext for device ${this.device.device}`);
    const content = decodeContent(await this.device.decrypt(m.from_user, env.senderDevice, mine));
    if (content.kind === 'text') return content;
    await this.groups.accept(m.from_user, env.senderDevice, content.distribution);
    return { kind: 'sender_key', chatId: content.chatId };
  }

  /** Decrypt a received text (1:1 or group); throws on anything else or when it does not decrypt. */
  async open(m: Pick<MessageBody, 'from_user' | 'body'> & Partial<Pick<MessageBody, 'chat_id'>>): Promise<Uint8Array> {
    const r = await this.receive({ chat_id: '', system: null, ...m });
    if (r.kind === 'text' || r.kind === 'group_text') return r.text;
    throw new Error(`expected a text, got ${r.kind}`);
  }
}
