// One device's end of the Signal protocol, over @signalapp/libsignal-client:
// its keys (identity, signed prekey, KEM prekey, one-time prekeys) as uploads
// for the key directory, X3DH/PQXDH sessions built from fetched bundles, and
// Double Ratchet encryption and decryption per peer device. No cryptography is
// ours: this module only carries keys between libsignal and the protocol frames.
//
// Cost (bench/e2ee.ts prints it here): encrypt + decrypt of a short message on
// an established session is tens of µs of native work plus the store's
// (de)serialisation of the session record.
import {
  CiphertextMessageType,
  IdentityKeyPair,
  KEMKeyPair,
  KEMPublicKey,
  KyberPreKeyRecord,
  PreKeyBundle,
  PreKeySignalMessage,
  PrivateKey,
  ProtocolAddress,
  PublicKey,
  SignalMessage,
  SignedPreKeyRecord,
  processPreKeyBundle,
  signalDecrypt,
  signalDecryptPreKey,
  signalEncrypt,
} from '@signalapp/libsignal-client';
import { randomInt } from 'node:crypto';
import type { DeviceBundleBody, KeysUploadBody, OneTimePreKeyBody } from '../../../server/common/protocol';
import {
  MemoryIdentityStore,
  MemoryKyberPreKeyStore,
  MemorySenderKeyStore,
  MemorySessionStore,
  MemorySignedPreKeyStore,
} from './memory-stores';
import { PackedPreKeyStore } from './packed-prekey-store';

/** A ciphertext as libsignal types it: PreKey (3) until the peer has answered, Whisper (2) after. */
export interface Ciphertext {
  type: number;
  bytes: Uint8Array;
}

export function addressOf(user: number, device: number): ProtocolAddress {
  return ProtocolAddress.new(String(user), device);
}

/** libsignal takes ArrayBuffer-backed arrays; protobufjs and Buffer pools hand out views. */
export function own(b: Uint8Array): Uint8Array<ArrayBuffer> {
  return new Uint8Array(b);
}

export class E2eeDevice {
  readonly address: ProtocolAddress;
  readonly registrationId = randomInt(1, 0x3fff);
  readonly sessions = new MemorySessionStore();
  readonly senderKeys = new MemorySenderKeyStore();
  private readonly identity = IdentityKeyPair.generate();
  private readonly identities: MemoryIdentityStore;
  private readonly prekeys = new PackedPreKeyStore();
  private readonly signed = new MemorySignedPreKeyStore();
  private readonly kyber = new MemoryKyberPreKeyStore();
  private nextPrekeyId = 1;
  private signedId = 0;
  private kyberId = 0;

  constructor(readonly user: number, readonly device: number) {
    this.address = addressOf(user, device);
    this.identities = new MemoryIdentityStore(this.identity, this.registrationId);
  }

  get identityKey(): Uint8Array {
    return this.identity.publicKey.serialize();
  }

  /** One-time prekeys this device still holds the private halves of. */
  get oneTimePrekeysHeld(): number {
    return this.prekeys.size;
  }

  /** The first upload (registration): identity, a signed prekey, a signed KEM prekey, `oneTime` one-time prekeys. */
  async registrationUpload(oneTime: number): Promise<KeysUploadBody> {
    return {
      ...this.base(), signed_prekey: await this.newSignedPrekey(), kyber_prekey: await this.newKyberPrekey(),
      one_time_prekeys: await this.newOneTimePrekeys(oneTime),
    };
  }

  /** More one-time prekeys (the answer to PrekeysLow). */
  async refillUpload(oneTime: number): Promise<KeysUploadBody> {
    return { ...this.base(), signed_prekey: null, kyber_prekey: null, one_time_prekeys: await this.newOneTimePrekeys(oneTime) };
  }

  /** A new signed prekey (rotation); the old one stays here so sessions started from it still open. */
  async rotationUpload(): Promise<KeysUploadBody> {
    return { ...this.base(), signed_prekey: await this.newSignedPrekey(), kyber_prekey: null, one_time_prekeys: [] };
  }

  hasSession(user: number, device: number): boolean {
    return this.sessions.has(addressOf(user, device));
  }

  /** X3DH (PQXDH) from a fetched bundle: a session whose first message will be a PreKeySignalMessage. */
  async startSession(user: number, b: DeviceBundleBody): Promise<void> {
    const otk = b.one_time_prekey;
    const bundle = PreKeyBundle.new(
      b.registration_id, b.device_id, otk ? otk.id : null, otk ? PublicKey.deserialize(own(otk.public_key)) : null,
      b.signed_prekey.id, PublicKey.deserialize(own(b.signed_prekey.public_key)), own(b.signed_prekey.signature),
      PublicKey.deserialize(own(b.identity_key)),
      b.kyber_prekey.id, KEMPublicKey.deserialize(own(b.kyber_prekey.public_key)), own(b.kyber_prekey.signature),
    );
    await processPreKeyBundle(bundle, addressOf(user, b.device_id), this.address, this.sessions, this.identities);
  }

  async encrypt(user: number, device: number, plaintext: Uint8Array): Promise<Ciphertext> {
    const m = await signalEncrypt(own(plaintext), addressOf(user, device), this.address, this.sessions, this.identities);
    return { type: m.type(), bytes: m.serialize() };
  }

  /** Decrypt one message from (user, device): a PreKeySignalMessage sets up the session (and uses up our one-time prekey). */
  async decrypt(user: number, device: number, c: Ciphertext): Promise<Uint8Array> {
    const from = addressOf(user, device);
    if (c.type === CiphertextMessageType.PreKey) {
      return signalDecryptPreKey(PreKeySignalMessage.deserialize(own(c.bytes)), from, this.address, this.sessions, this.identities,
        this.prekeys, this.signed, this.kyber);
    }
    if (c.type === CiphertextMessageType.Whisper) {
      return signalDecrypt(SignalMessage.deserialize(own(c.bytes)), from, this.address, this.sessions, this.identities);
    }
    throw new Error(`not a 1:1 ciphertext type: ${c.type}`);
  }

  private base(): Pick<KeysUploadBody, 'device_id' | 'registration_id' | 'identity_key'> {
    return { device_id: this.device, registration_id: this.registrationId, identity_key: this.identityKey };
  }

  private async newSignedPrekey(): Promise<{ id: number; public_key: Uint8Array; signature: Uint8Array }> {
    const id = ++this.signedId;
    const priv = PrivateKey.generate();
    const pub = priv.getPublicKey();
    const signature = this.identity.privateKey.sign(pub.serialize());
    await this.signed.saveSignedPreKey(id, SignedPreKeyRecord.new(id, Date.now(), pub, priv, signature));
    return { id, public_key: pub.serialize(), signature };
  }

  private async newKyberPrekey(): Promise<{ id: number; public_key: Uint8Array; signature: Uint8Array }> {
    const id = ++this.kyberId;
    const pair = KEMKeyPair.generate();
    const signature = this.identity.privateKey.sign(pair.getPublicKey().serialize());
    await this.kyber.saveKyberPreKey(id, KyberPreKeyRecord.new(id, Date.now(), pair, signature));
    return { id, public_key: pair.getPublicKey().serialize(), signature };
  }

  private async newOneTimePrekeys(n: number): Promise<OneTimePreKeyBody[]> {
    const out: OneTimePreKeyBody[] = [];
    for (let i = 0; i < n; i++) {
      const id = this.nextPrekeyId++;
      const priv = PrivateKey.generate();
      this.prekeys.keep(id, priv.serialize());
      out.push({ id, public_key: priv.getPublicKey().serialize() });
    }
    return out;
  }
}
