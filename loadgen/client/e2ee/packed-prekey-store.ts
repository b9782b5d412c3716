// A device's one-time prekeys, kept as their 32-byte private keys in one
// growing buffer indexed by prekey id (ids are the device's own, 1, 2, 3...),
// not as a libsignal PreKeyRecord per key. libsignal asks for a prekey once per
// session started with this device (the first PreKeySignalMessage); the record
// is built then, from the private key.
//
// Why packed: a PreKeyRecord is a native handle (a JS wrapper with a finalizer
// plus its native memory). The generator held 100 of them per simulated
// device: at fanout's 10,000 users, 1M handles (~150 B of JS heap each,
// measured on 1,000 devices), in worker heaps whose full collections paused a
// thread for up to a second (docs/design/021-e2ee.md). With this store and the
// window-sized warm-up, a worker's live heap after setup fell from 190-200 MB
// to 86-93 MB. Packed, a device's 100 keys are 3.2 KB in one ArrayBuffer.
import { PreKeyRecord, PreKeyStore, PrivateKey } from '@signalapp/libsignal-client';

const KEY_BYTES = 32;
/** libsignal's prekey ids are u32; ours count up from 1 per device, so this bounds the buffer (16 Mi ids). */
const ID_MAX = 0xffffff;
/** The first allocation, in ids (a registration uploads up to 100). */
const IDS_MIN = 128;

export class PackedPreKeyStore extends PreKeyStore {
  private privs = new Uint8Array(0);
  /** 1 where the id's key is held (uploaded, not yet used). */
  private held = new Uint8Array(0);
  private count = 0;

  /** Keep one-time prekey `id`'s private key (its 32 serialized bytes). */
  keep(id: number, privateKey: Uint8Array): void {
    if (!Number.isInteger(id) || id < 1 || id > ID_MAX) throw new Error(`one-time prekey id out of range: ${id}`);
    if (privateKey.length !== KEY_BYTES) throw new Error(`a private key is ${KEY_BYTES} bytes, got ${privateKey.length}`);
    this.grow(id);
    this.privs.set(privateKey, (id - 1) * KEY_BYTES);
    if (this.held[id - 1] === 0) this.count++;
    this.held[id - 1] = 1;
  }

  async savePreKey(id: number, record: PreKeyRecord): Promise<void> {
    this.keep(id, record.privateKey().serialize());
  }

  async getPreKey(id: number): Promise<PreKeyRecord> {
    if (!(id >= 1 && id <= this.held.length && this.held[id - 1] === 1)) throw new Error(`no one-time prekey ${id}`);
    const priv = PrivateKey.deserialize(this.privs.slice((id - 1) * KEY_BYTES, id * KEY_BYTES));
    return PreKeyRecord.new(id, priv.getPublicKey(), priv);
  }

  async removePreKey(id: number): Promise<void> {
    if (id >= 1 && id <= this.held.length && this.held[id - 1] === 1) {
      this.held[id - 1] = 0;
      this.privs.fill(0, (id - 1) * KEY_BYTES, id * KEY_BYTES);
      this.count--;
    }
  }

  get size(): number {
    return this.count;
  }

  private grow(id: number): void {
    if (id <= this.held.length) return;
    const ids = Math.min(ID_MAX, Math.max(id, IDS_MIN, this.held.length * 2));
    const privs = new Uint8Array(ids * KEY_BYTES);
    privs.set(this.privs);
    const held = new Uint8Array(ids);
    held.set(this.held);
    this.privs = privs;
    this.held = held;
  }
}
