// traffic.e2ee on the real system: each simulated user's one device (an
// E2eeDevice: real libsignal keys and sessions), kept across its connections,
// so a reconnect is the same install, not a new one. The device registers its
// keys in the key directory on its user's first connect (setup), fetches a
// peer's bundles on its first message to that peer, seals each 1:1 body for
// every device of the peer and opens what it receives; the load header is in
// the plaintext, so the world checks integrity on what decrypted.
//
// Order: libsignal's session state is read and written across awaits, and the
// world's integrity checks need each stream in order, so a user's encryptions
// run one after the other (sends leave in the order made) and so do its
// decryptions (deliveries reach the world in the order they arrived).
//
// A redelivery (the offline queue replayed after a reconnect) of a message
// this device already decrypted cannot be decrypted again (its message key is
// used up, as in any Signal client): the device keeps the plaintexts of its
// last OPENED_KEPT_MAX messages by (chat, id) and hands the world that copy,
// which then counts it as the redelivery it is.
//
// All of it runs on the worker thread that drives the user, so its CPU is in
// the generator's CPU per message.
import { ErrorCode } from '@signalapp/libsignal-client';
import { performance } from 'node:perf_hooks';
import type { ChatClient } from '../client/chat-client';
import { decodeContent, textContent } from '../client/e2ee/content';
import { E2eeDevice, type Ciphertext } from '../client/e2ee/device';
import { decodeEnvelope, encodeEnvelope } from '../client/e2ee/envelope';
import type { MetricsRegistry } from '../metrics/registry';
import type { KeyBundlesBody } from '../../server/common/protocol';

/** The one device of each simulated user. */
const DEVICE_ID = 1;
/** One-time prekeys per upload (registration, refill): the server's prekeys_per_upload_max. */
const PREKEYS_PER_UPLOAD = 100;
/** Plaintexts a device keeps for redeliveries (bounded: memory per user is this times the message size). */
const OPENED_KEPT_MAX = 256;

/** Why a send could not be sealed: the world counts it as sends_failed{reason:...}. */
export class SealError extends Error {
  constructor(readonly reason: string, message: string) {
    super(message);
  }
}

/** The server's error code when it refused a key request (ServerError carries one), else a generic reason. */
function reasonOf(err: unknown, generic: string): string {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' && /^[A-Z_]+$/.test(code) ? `e2ee_${code}` : generic;
}

export class E2eeUser {
  readonly device: E2eeDevice;
  private registered: Promise<void> | null = null;
  /** Peer user -> its device ids with a session here (from one bundle fetch). */
  private readonly peers = new Map<number, number[]>();
  private sealing: Promise<unknown> = Promise.resolve();
  private opening: Promise<unknown> = Promise.resolve();
  private refilling = false;
  private readonly opened = new Map<string, Uint8Array>();
  /** Told of every bundle fetch's answer (the driver's PrekeyLedger: ./prekey-ledger.ts), when set. */
  onFetched: ((bundles: KeyBundlesBody) => void) | null = null;

  constructor(readonly user: number, private readonly metrics: MetricsRegistry) {
    this.device = new E2eeDevice(user, DEVICE_ID);
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

  /** Encrypt `plaintext` for every device of `peer`, after every earlier seal of this user; rejects with a SealError. */
  seal(chat: ChatClient, peer: number, plaintext: Uint8Array): Promise<Uint8Array> {
    const next = this.sealing.then(() => this.sealNow(chat, peer, plaintext));
    this.sealing = next.catch(() => {});
    return next;
  }

  private async sealNow(chat: ChatClient, peer: number, plaintext: Uint8Array): Promise<Uint8Array> {
    const devices = await this.sessionsWith(chat, peer);
    const t0 = performance.now();
    const entries = new Map<number, Ciphertext>();
    const content = textContent(plaintext);
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
  private async sessionsWith(chat: ChatClient, peer: number): Promise<number[]> {
    const known = this.peers.get(peer);
    if (known) return known;
    let bundles;
    try {
      bundles = await chat.fetchKeys(peer);
    } catch (err) {
      throw new SealError(reasonOf(err, 'e2ee_key_fetch_failed'), `key fetch for ${peer}: ${(err as Error).message}`);
    }
    this.metrics.counter.e2ee_key_fetches.add(1);
    this.onFetched?.(bundles);
    if (bundles.devices.length === 0) throw new SealError('e2ee_no_keys', `user ${peer} has no keys in the directory`);
    try {
      for (const b of bundles.devices) await this.device.startSession(peer, b);
    } catch (err) {
      throw new SealError('e2ee_bad_bundle', `session with ${peer}: ${(err as Error).message}`);
    }
    const ids = bundles.devices.map((b) => b.device_id);
    this.peers.set(peer, ids);
    return ids;
  }

  /**
   * Decrypt a received body (message `id` of chat `chatId` from `from`), after every earlier one of this
   * user; resolves to the plaintext, or rejects with the reason it did not decrypt.
   */
  open(from: number, chatId: string, id: number, body: Uint8Array): Promise<Uint8Array> {
    const next = this.opening.then(() => this.openNow(from, chatId, id, body));
    this.opening = next.catch(() => {});
    return next;
  }

  private async openNow(from: number, chatId: string, id: number, body: Uint8Array): Promise<Uint8Array> {
    const key = `${chatId}/${id}`;
    const kept = this.opened.get(key);
    if (kept) return kept;
    let env;
    try {
      env = decodeEnvelope(body);
    } catch {
      throw new SealError('not_an_envelope', `message ${key} is not an e2ee envelope`);
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
    if (content.kind !== 'text') throw new SealError('not_a_text', `message ${key} is a ${content.kind}`);
    this.opened.set(key, content.text);
    if (this.opened.size > OPENED_KEPT_MAX) this.opened.delete(this.opened.keys().next().value!);
    return content.text;
  }
}

/** libsignal's error code (DuplicatedMessage, InvalidMessage, ...) as a reason. */
function libsignalReason(err: unknown): string {
  const code = (err as { code?: unknown })?.code;
  const name = typeof code === 'number' ? ErrorCode[code] : undefined;
  return name ? `libsignal_${name}` : 'decrypt_failed';
}
