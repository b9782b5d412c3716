// In-memory implementations of libsignal's stores for one device: its
// identity, its signed and KEM prekeys (one-time prekeys: ./packed-prekey-store.ts), its sessions with other
// devices, and the sender keys of groups. A real client persists these; the
// test client and the load generator keep them for a run.
//
// Sessions and sender keys are kept serialized (libsignal hands out native
// handles; a record is re-read per message, as a persistent store would).
import {
  IdentityChange,
  IdentityKeyStore,
  KyberPreKeyStore,
  SenderKeyStore,
  SessionStore,
  SignedPreKeyStore,
  type IdentityKeyPair,
  type KyberPreKeyRecord,
  type PrivateKey,
  type ProtocolAddress,
  PublicKey,
  SenderKeyRecord,
  SessionRecord,
  type SignedPreKeyRecord,
  type Uuid,
} from '@signalapp/libsignal-client';

function addressKey(a: ProtocolAddress): string {
  return `${a.name()}.${a.deviceId()}`;
}

export class MemoryIdentityStore extends IdentityKeyStore {
  /** Peers' identity keys, serialized (33 B each): a PublicKey handle per peer would be a native object with a finalizer each. */
  private readonly known = new Map<string, Uint8Array<ArrayBuffer>>();

  constructor(private readonly identity: IdentityKeyPair, private readonly registrationId: number) {
    super();
  }

  async getIdentityKey(): Promise<PrivateKey> {
    return this.identity.privateKey;
  }

  /** The pair as kept (the base class derives the public key again on every call: a scalar multiplication). */
  override async getIdentityKeyPair(): Promise<IdentityKeyPair> {
    return this.identity;
  }

  async getLocalRegistrationId(): Promise<number> {
    return this.registrationId;
  }

  async saveIdentity(name: ProtocolAddress, key: PublicKey): Promise<IdentityChange> {
    const k = addressKey(name);
    const prev = this.known.get(k);
    const bytes = key.serialize();
    if (prev && sameBytes(prev, bytes)) return IdentityChange.NewOrUnchanged; // libsignal saves it on every message: keep the old copy
    this.known.set(k, bytes);
    return prev ? IdentityChange.ReplacedExisting : IdentityChange.NewOrUnchanged;
  }

  /** Trust on first use: a changed identity key is refused (a real client asks its user to verify the safety number). */
  async isTrustedIdentity(name: ProtocolAddress, key: PublicKey): Promise<boolean> {
    const prev = this.known.get(addressKey(name));
    return !prev || sameBytes(prev, key.serialize());
  }

  async getIdentity(name: ProtocolAddress): Promise<PublicKey | null> {
    const bytes = this.known.get(addressKey(name));
    return bytes ? PublicKey.deserialize(bytes) : null;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

export class MemorySessionStore extends SessionStore {
  private readonly sessions = new Map<string, Uint8Array<ArrayBuffer>>();

  async saveSession(name: ProtocolAddress, record: SessionRecord): Promise<void> {
    this.sessions.set(addressKey(name), record.serialize());
  }

  async getSession(name: ProtocolAddress): Promise<SessionRecord | null> {
    const bytes = this.sessions.get(addressKey(name));
    return bytes ? SessionRecord.deserialize(bytes) : null;
  }

  async getExistingSessions(addresses: ProtocolAddress[]): Promise<SessionRecord[]> {
    const out: SessionRecord[] = [];
    for (const a of addresses) {
      const s = await this.getSession(a);
      if (!s) throw new Error(`no session with ${addressKey(a)}`);
      out.push(s);
    }
    return out;
  }

  has(name: ProtocolAddress): boolean {
    return this.sessions.has(addressKey(name));
  }
}

export class MemorySignedPreKeyStore extends SignedPreKeyStore {
  private readonly keys = new Map<number, SignedPreKeyRecord>();

  async saveSignedPreKey(id: number, record: SignedPreKeyRecord): Promise<void> {
    this.keys.set(id, record);
  }

  async getSignedPreKey(id: number): Promise<SignedPreKeyRecord> {
    const r = this.keys.get(id);
    if (!r) throw new Error(`no signed prekey ${id}`);
    return r;
  }
}

export class MemoryKyberPreKeyStore extends KyberPreKeyStore {
  private readonly keys = new Map<number, KyberPreKeyRecord>();

  async saveKyberPreKey(id: number, record: KyberPreKeyRecord): Promise<void> {
    this.keys.set(id, record);
  }

  async getKyberPreKey(id: number): Promise<KyberPreKeyRecord> {
    const r = this.keys.get(id);
    if (!r) throw new Error(`no KEM prekey ${id}`);
    return r;
  }

  /** The KEM prekey is a last-resort key (reused until replaced): nothing to remove. */
  async markKyberPreKeyUsed(): Promise<void> {}
}

export class MemorySenderKeyStore extends SenderKeyStore {
  private readonly keys = new Map<string, Uint8Array<ArrayBuffer>>();

  async saveSenderKey(sender: ProtocolAddress, distributionId: Uuid, record: SenderKeyRecord): Promise<void> {
    this.keys.set(`${addressKey(sender)}/${distributionId}`, record.serialize());
  }

  async getSenderKey(sender: ProtocolAddress, distributionId: Uuid): Promise<SenderKeyRecord | null> {
    const bytes = this.keys.get(`${addressKey(sender)}/${distributionId}`);
    return bytes ? SenderKeyRecord.deserialize(bytes) : null;
  }
}
