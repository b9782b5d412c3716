// A chat client that encrypts every body end to end: a ChatClient (the
// protocol) plus an E2eeDevice (libsignal). It registers the device's keys in
// the directory, fetches a peer's bundles on the first message to it (one
// session per peer device, PreKeySignalMessage first), seals each body for
// every device of the peer, opens what it receives, and refills its one-time
// prekeys when the server says they run low.
//
// Out of scope here (docs/design/021-e2ee.md): copies for the sender's own
// other devices, a peer device added after the first fetch, sender keys for groups.
import type { DeviceBundleBody, KeysStoredBody, MessageBody, PrekeysLowBody } from '../../../server/common/protocol';
import type { ChatClient } from '../chat-client';
import { E2eeDevice, type Ciphertext } from './device';
import { decodeEnvelope, encodeEnvelope } from './envelope';

export interface E2eeClientOptions {
  /** One-time prekeys uploaded at registration and per refill (Signal's clients use 100). */
  prekeysPerUpload?: number;
}

export class E2eeClient {
  readonly device: E2eeDevice;
  /** Devices of each peer with a session (from its bundle fetch). */
  private readonly peerDevices = new Map<number, number[]>();
  private readonly prekeysPerUpload: number;
  private refilling: Promise<unknown> | null = null;
  /** One-time prekey refills done on PrekeysLow. */
  refills = 0;

  constructor(readonly chat: ChatClient, user: number, deviceId = 1, opts: E2eeClientOptions = {}) {
    this.device = new E2eeDevice(user, deviceId);
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

  /** Encrypt `plaintext` for every device of `user`: the body of a Send. */
  async seal(user: number, plaintext: Uint8Array): Promise<Uint8Array> {
    const devices = await this.ensureSessions(user);
    const entries = new Map<number, Ciphertext>();
    for (const d of devices) entries.set(d, await this.device.encrypt(user, d, plaintext));
    return encodeEnvelope(this.device.device, entries);
  }

  /** Seal and send (1:1); resolves with the server's ack. */
  async send(user: number, plaintext: Uint8Array, clientMsgId?: string) {
    return this.chat.send(user, await this.seal(user, plaintext), clientMsgId);
  }

  /** Decrypt a received 1:1 message's body (throws when it carries nothing for this device or does not decrypt). */
  async open(m: Pick<MessageBody, 'from_user' | 'body'>): Promise<Uint8Array> {
    const env = decodeEnvelope(m.body);
    const mine = env.entries.get(this.device.device);
    if (!mine) throw new Error(`message from ${m.from_user} carries no ciphertext for device ${this.device.device}`);
    return this.device.decrypt(m.from_user, env.senderDevice, mine);
  }
}
