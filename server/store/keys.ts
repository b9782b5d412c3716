// The key directory's part of the store interface (end-to-end encryption,
// docs/design/021-e2ee.md): per device, its identity key, signed prekey,
// signed KEM (Kyber) prekey and a pool of one-time prekeys, public halves only.
// Every MessageStore has one (`store.keys`).
//
// The one promise that needs care: takeBundles hands each one-time prekey to
// exactly ONE fetcher, even when fetchers race on several chat nodes. SQLite
// does it in one IMMEDIATE transaction (one writer at a time, also across
// processes sharing the file); ScyllaDB with a lightweight transaction per
// taken key (DELETE ... IF public_key = ?: Paxos lets one fetcher win).

export interface SignedKey {
  id: number;
  public_key: Uint8Array;
  signature: Uint8Array;
}

export interface OneTimeKey {
  id: number;
  public_key: Uint8Array;
}

/** What the directory holds for one device, without its one-time prekeys. */
export interface DeviceKeys {
  user: number;
  device: number;
  registration_id: number;
  identity_key: Uint8Array;
  signed_prekey: SignedKey;
  kyber_prekey: SignedKey;
}

/** One device's bundle as handed to one fetcher: its one-time prekey is now gone from the directory. */
export interface TakenBundle extends DeviceKeys {
  one_time_prekey: OneTimeKey | null;
  /** One-time prekeys the device has left after this take (drives the PrekeysLow signal). */
  one_time_left: number;
}

/** The engine's writes for one upload; it has decided what they are (server/chat/keys.ts). */
export interface KeysWrite {
  /** The device's keys as they stand after the upload (a new device, a new identity, a rotation, or unchanged). */
  device: DeviceKeys;
  /** A new identity key (a reinstall): the device's old one-time prekeys are dropped before the new ones go in. */
  reset: boolean;
  one_time_prekeys: OneTimeKey[];
}

export interface KeyDirectory {
  /** Every device of the user with keys (without their one-time prekeys). */
  devices(user: number): Promise<DeviceKeys[]>;
  /** One-time prekeys the device holds now. */
  oneTimeCount(user: number, device: number): Promise<number>;
  /** Store an upload: the device row (replaced), and the one-time prekeys (added; a reset drops the old ones first). */
  putKeys(write: KeysWrite): Promise<void>;
  /**
   * One bundle per device of `user`, each with a one-time prekey that this call
   * removed from the directory (null when the device had none left): no two
   * calls, on any chat node, ever get the same one.
   */
  takeBundles(user: number): Promise<TakenBundle[]>;
}
