// traffic.e2ee on the real system: each simulated user's one device (an
// E2eeDevice: real libsignal keys and sessions), kept across its connections,
// so a reconnect is the same install, not a new one. The device registers its
// keys in the key directory on its user's first connect (setup), fetches a
// peer's bundles on its first message to that peer, seals each 1:1 body for
// every device of the peer and opens what it receives; the load header is in
// the plaintext, so the world checks integrity on what decrypted.
//
// Order: libsignal reads and writes its state across awaits, so no two of its
// operations may overlap on one device; the world's integrity checks need each
// stream in order. All libsignal work of the worker thread runs in one FIFO
// (./e2ee-lane.ts), in the order asked: so seals to one peer leave in the
// order made and opens reach the world in the order the bodies arrived. A key
// fetch (a round trip) happens before a seal enters the lane, and holds up the
// seals to that peer only, not the user's other peers.
//
// A redelivery (the offline queue replayed after a reconnect) of a message
// this device already decrypted cannot be decrypted again (its message key is
// used up, as in any Signal client): the device keeps the plaintexts of its
// last OPENED_KEPT_MAX messages by (chat, id) and hands the world that copy,
// which then counts it as the redelivery it is.
//
// Group messages (sender keys, distributions over 1:1, waits for a key that
// has not come yet): ./system-e2ee-groups.ts.
//
// All of it runs on the worker thread that drives the user, so its CPU is in
// the generator's CPU per message.
import { ErrorCode } from '@signalapp/libsignal-client';
import { performance } from 'node:perf_hooks';
import type { ChatClient } from '../client/chat-client';
import type { KeyBundlesBody } from '../../server/common/protocol';
import { decodeContent, textContent } from '../client/e2ee/content';
import { E2eeDevice, type Ciphertext } from '../client/e2ee/device';
import { decodeEnvelope, encodeEnvelope, GROUP_ENTRY } from '../client/e2ee/envelope';
import type { MetricsRegistry } from '../metrics/registry';
import { CryptoLane } from './e2ee-lane';
import { SealError } from './seal-error';
import { E2eeGroups, type AwaitingKey } from './system-e2ee-groups';

export { SealError };

/** The one device of each simulated user. */
const DEVICE_ID = 1;
/**
 * One-time prekeys per upload (registration, and each refill on PrekeysLow). A real client uploads 100 (the
 * server's prekeys_per_upload_max); a simulated device is fetched by a few senders only (its contacts' first
 * messages: <= contactsPerUser in fanout, 3 in key-storm), and making 100 keys for each of fanout's 10,000
 * devices cost ~30 s of setup (~60 µs of libsignal each). With 30, a device hears PrekeysLow (fewer than the
 * server's prekeys_low_threshold, 10, left) after 21 fetches and refills as a real one does.
 */
export const PREKEYS_PER_UPLOAD = 30;
/** Plaintexts a device keeps for redeliveries (bounded: memory per user is this times the message size). */
const OPENED_KEPT_MAX = 256;
/** Tries of a bundle fetch the server refused as KEY_RATE_LIMITED (a sender's first message to a big group fetches a bundle per member). */
const KEY_FETCH_ATTEMPTS_MAX = 8;
/** Wait before the next try, times the attempt: the server's limit is per second. */
const KEY_FETCH_RETRY_MS = 500;
/** What `opened` keeps for a message that was not a text for the world (a sender key): a redelivery of it is passed over again. */
const NOT_FOR_THE_WORLD = new Uint8Array(0);
/** What the warm-up's two messages of a session carry (handed over in-process, never on the wire). */
const WARMUP_TEXT = new TextEncoder().encode('warm-up');

/** The server's error code when it refused a key request (ServerError carries one), else a generic reason. */
function reasonOf(err: unknown, generic: string): string {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' && /^[A-Z_]+$/.test(code) ? `e2ee_${code}` : generic;
}

export class E2eeUser {
  readonly device: E2eeDevice;
  private registered: Promise<void> | null = null;
  /** Peer user -> its device ids with a session here (one bundle fetch); a failed fetch is forgotten and tried again. */
  private readonly peers = new Map<number, Promise<number[]>>();
  private refilling = false;
  private readonly opened = new Map<string, Uint8Array>();
  /** Told of every bundle fetch's answer (the driver's PrekeyLedger: ./prekey-ledger.ts), when set. */
  onFetched: ((bundles: KeyBundlesBody) => void) | null = null;
  readonly groups: E2eeGroups;
  /** Sender key distributions sent so far (their client_msg_ids). */
  private distributions = 0;

  /** `lane`: the worker thread's libsignal FIFO, shared by all its users (the driver's). */
  constructor(readonly user: number, private readonly metrics: MetricsRegistry, private readonly lane = new CryptoLane()) {
    this.device = new E2eeDevice(user, DEVICE_ID);
    this.groups = new E2eeGroups(this.device, lane, metrics);
  }

  /** Upload this device's keys once (its user's first connect); a failed upload is tried again on the next connect. */
  register(chat: ChatClient): Promise<void> {
    this.registered ??= this.device.registrationUpload(PREKEYS_PER_UPLOAD)
      .then((u) => chat.uploadKeys(u))
      .then(() => this.metrics.counter.e2ee_key_uploads.add(1))
      .catch((err: unknown) => {
        this.registered = null;
        throw err;
      });
    return this.registered;
  }

  /** The server says this device's one-time prekeys run low: upload more (one refill at a time). */
  refill(chat: ChatClient, deviceId: number): void {
    if (deviceId !== DEVICE_ID || this.refilling) return;
    this.refilling = true;
    this.device.refillUpload(PREKEYS_PER_UPLOAD)
      .then((u) => chat.uploadKeys(u))
      .then(() => this.metrics.counter.e2ee_key_uploads.add(1), () => this.metrics.counter.errors.add(1))
      .finally(() => (this.refilling = false));
  }

  /** Encrypt `plaintext` for every device of `peer`, after every earlier seal to `peer`; rejects with a SealError. */
  seal(chat: ChatClient, peer: number, plaintext: Uint8Array): Promise<Uint8Array> {
    return this.sealContent(chat, peer, textContent(plaintext));
  }

  /**
   * The body of a group message to `chatId` (members: user ids, the same array while the membership is
   * the same); this user's sender key goes first, as 1:1 sends on `chat`, to members without it.
   */
  sealGroup(chat: ChatClient, chatId: string, members: readonly number[], plaintext: Uint8Array, send: (peer: number, body: Uint8Array, clientMsgId: string) => void): Promise<Uint8Array> {
    return this.groups.seal(chatId, members, plaintext, {
      seal: (peer, content) => this.sealContent(chat, peer, content),
      send: (peer, sealed) => send(peer, sealed, `sk.${(this.distributions++).toString(36)}`),
    });
  }

  private sealContent(chat: ChatClient, peer: number, content: Uint8Array): Promise<Uint8Array> {
    // A settled session promise still runs its callbacks in the order they were added: the lane sees this peer's seals in call order.
    return this.sessionsWith(chat, peer).then((devices) => this.lane.run(() => this.encryptFor(peer, devices, content)));
  }

  private async encryptFor(peer: number, devices: number[], content: Uint8Array): Promise<Uint8Array> {
    const t0 = performance.now();
    const entries = new Map<number, Ciphertext>();
    try {
      for (const d of devices) entries.set(d, await this.device.encrypt(peer, d, content));
    } catch (err) {
      throw new SealError('e2ee_encrypt_failed', `encrypt for ${peer}: ${(err as Error).message}`);
    }
    const body = encodeEnvelope(DEVICE_ID, entries);
    this.metrics.trend.e2ee_encrypt_time.record(performance.now() - t0);
    return body;
  }

  /** Sessions with every device of `peer`, from one bundle fetch (a PreKeySignalMessage starts each). */
  private sessionsWith(chat: ChatClient, peer: number): Promise<number[]> {
    let known = this.peers.get(peer);
    if (!known) {
      const started = this.startSessions(chat, peer);
      this.peers.set(peer, (known = started));
      started.catch(() => this.peers.get(peer) === started && this.peers.delete(peer));
    }
    return known;
  }

  private async startSessions(chat: ChatClient, peer: number, counted = true): Promise<number[]> {
    const bundles = await fetchBundles(chat, peer);
    if (counted) this.metrics.counter.e2ee_key_fetches.add(1);
    this.onFetched?.(bundles);
    if (bundles.devices.length === 0) throw new SealError('e2ee_no_keys', `user ${peer} has no keys in the directory`);
    try {
      await this.lane.run(async () => {
        for (const b of bundles.devices) await this.device.startSession(peer, b);
      });
    } catch (err) {
      throw new SealError('e2ee_bad_bundle', `session with ${peer}: ${(err as Error).message}`);
    }
    return bundles.devices.map((b) => b.device_id);
  }

  /**
   * Warm-up, before the measured window (../world/e2ee-warmup.ts): a two-way session with `peer` (a device of
   * this process). The bundle is fetched over `chat` as for a first message (one one-time prekey taken; a
   * KEY_RATE_LIMITED refusal tried again), not counted in e2ee_key_fetches; then a first message (a
   * PreKeySignalMessage) goes to the peer and its answer comes back, both handed over in-process, not on the
   * wire (an offline peer needs no connection, nothing is queued for the window). Afterwards both ends seal
   * plain SignalMessages to each other. false: this user had a session with `peer` already.
   */
  async warmSession(chat: ChatClient, peer: E2eeUser): Promise<boolean> {
    if (this.peers.has(peer.user)) return false;
    const started = this.startSessions(chat, peer.user, false);
    this.peers.set(peer.user, started);
    let devices: number[];
    try {
      devices = await started;
    } catch (err) {
      if (this.peers.get(peer.user) === started) this.peers.delete(peer.user);
      throw err;
    }
    await this.lane.run(async () => {
      for (const d of devices) {
        const first = await this.device.encrypt(peer.user, d, textContent(WARMUP_TEXT));
        await peer.device.decrypt(this.user, DEVICE_ID, first);
        await this.device.decrypt(peer.user, d, await peer.device.encrypt(this.user, DEVICE_ID, textContent(WARMUP_TEXT)));
      }
    });
    // The peer holds the session now (from the first message): its own first send to this user fetches nothing.
    if (!peer.peers.has(this.user)) peer.peers.set(this.user, Promise.resolve([DEVICE_ID]));
    return true;
  }

  /**
   * Warm-up: this user's sender key for group `chatId` handed to each other member of `members` in-process
   * (each takes it in), so its first message to the group distributes nothing. Returns the members given it.
   */
  warmGroup(chatId: string, members: readonly E2eeUser[]): Promise<number> {
    const others = members.filter((m) => m !== this);
    return this.lane.run(async () => {
      const plan = await this.groups.keys.plan(chatId, others.map((m) => m.user));
      const wanted = new Set(plan.recipients);
      for (const m of others) if (wanted.has(m.user)) await m.groups.keys.accept(this.user, DEVICE_ID, plan.distribution);
      this.groups.keys.given(chatId, plan.recipients);
      return plan.recipients.length;
    });
  }

  /**
   * Decrypt a received body (message `id` of chat `chatId` from `from`), after every libsignal operation
   * asked before it on this worker thread; resolves to the plaintext, to null for a body that is not for
   * the world (a sender key, taken in), or rejects with the reason it did not decrypt.
   */
  open(from: number, chatId: string, id: number, body: Uint8Array): Promise<Uint8Array | null> {
    return this.lane.run(() => this.openNow(from, chatId, id, body)).then(unwrapAwaiting);
  }

  private async openNow(from: number, chatId: string, id: number, body: Uint8Array): Promise<Uint8Array | null | AwaitingKey> {
    const key = `${chatId}/${id}`;
    const kept = this.opened.get(key);
    if (kept) return kept === NOT_FOR_THE_WORLD ? null : kept;
    let env;
    try {
      env = decodeEnvelope(body);
    } catch {
      throw new SealError('not_an_envelope', `message ${key} is not an e2ee envelope`);
    }
    const group = env.entries.get(GROUP_ENTRY);
    if (group) {
      const opened = await this.groups.open(from, env.senderDevice, chatId, group);
      if (opened instanceof Uint8Array) this.keep(key, opened);
      else opened.awaiting.then((plain) => this.keep(key, plain), () => {});
      return opened;
    }
    const mine = env.entries.get(DEVICE_ID);
    if (!mine) throw new SealError('no_entry_for_device', `message ${key} carries no ciphertext for device ${DEVICE_ID}`);
    const t0 = performance.now();
    let plain: Uint8Array;
    try {
      plain = await this.device.decrypt(from, env.senderDevice, mine);
    } catch (err) {
      throw new SealError(libsignalReason(err), `message ${key}: ${(err as Error).message}`);
    }
    this.metrics.trend.e2ee_decrypt_time.record(performance.now() - t0);
    const content = decodeContent(plain);
    if (content.kind === 'text') return this.keep(key, content.text);
    this.keep(key, NOT_FOR_THE_WORLD);
    await this.groups.accept(from, env.senderDevice, content.chatId, content.distribution);
    return null;
  }

  private keep(key: string, plain: Uint8Array): Uint8Array {
    this.opened.set(key, plain);
    if (this.opened.size > OPENED_KEPT_MAX) this.opened.delete(this.opened.keys().next().value!);
    return plain;
  }
}

function unwrapAwaiting(r: Uint8Array | null | AwaitingKey): Uint8Array | null | Promise<Uint8Array> {
  return r === null || r instanceof Uint8Array ? r : r.awaiting;
}

/** A peer's bundles; a KEY_RATE_LIMITED refusal is tried again a little later, a bounded number of times. */
async function fetchBundles(chat: ChatClient, peer: number): Promise<KeyBundlesBody> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await chat.fetchKeys(peer);
    } catch (err) {
      const reason = reasonOf(err, 'e2ee_key_fetch_failed');
      if (reason !== 'e2ee_KEY_RATE_LIMITED' || attempt === KEY_FETCH_ATTEMPTS_MAX || chat.closed) {
        throw new SealError(reason, `key fetch for ${peer}: ${(err as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, KEY_FETCH_RETRY_MS * attempt));
    }
  }
}

/** libsignal's error code (DuplicatedMessage, InvalidMessage, ...) as a reason. */
function libsignalReason(err: unknown): string {
  const code = (err as { code?: unknown })?.code;
  const name = typeof code === 'number' ? ErrorCode[code] : undefined;
  return name ? `libsignal_${name}` : 'decrypt_failed';
}
