// The key directory on the embedded store (server/store/keys.ts): two tables in
// the store's SQLite file, created here if missing (additive: an older file
// gains them without a schema version step).
//
// Exactly-once one-time prekeys: takeBundles reads and deletes each device's
// lowest-id prekey inside one IMMEDIATE transaction. better-sqlite3 runs it
// synchronously, so nothing else in this process interleaves, and IMMEDIATE
// takes the file's write lock at BEGIN, so chat processes sharing the file (the
// multi-node light mode) queue behind it instead of reading the same row.
//
// Envelope, per fetch of a user with d devices: 1 indexed read of the device
// rows, then per device 1 point read + 1 delete + 1 count over the device's
// prekeys (<= prekeys_per_device_max rows, an index range): ~20 us a device here.
import type { Database as Db, Statement } from 'better-sqlite3';
import type { DeviceKeys, KeyDirectory, KeysWrite, OneTimeKey, TakenBundle } from '../keys';

const KEY_SCHEMA = `
CREATE TABLE IF NOT EXISTS key_devices (
  user_id INTEGER NOT NULL,
  device INTEGER NOT NULL,
  registration_id INTEGER NOT NULL,
  identity_key BLOB NOT NULL,
  spk_id INTEGER NOT NULL, spk BLOB NOT NULL, spk_sig BLOB NOT NULL,
  kpk_id INTEGER NOT NULL, kpk BLOB NOT NULL, kpk_sig BLOB NOT NULL,
  PRIMARY KEY (user_id, device)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS key_prekeys (
  user_id INTEGER NOT NULL,
  device INTEGER NOT NULL,
  id INTEGER NOT NULL,
  public_key BLOB NOT NULL,
  PRIMARY KEY (user_id, device, id)
) WITHOUT ROWID;
`;

interface DeviceRow {
  user_id: number; device: number; registration_id: number; identity_key: Buffer;
  spk_id: number; spk: Buffer; spk_sig: Buffer; kpk_id: number; kpk: Buffer; kpk_sig: Buffer;
}

export class SqliteKeys implements KeyDirectory {
  private readonly s: Record<string, Statement>;
  private readonly putTx: (w: KeysWrite) => void;
  private readonly takeTx: (user: number) => TakenBundle[];

  constructor(db: Db) {
    db.exec(KEY_SCHEMA);
    const p = (sql: string) => db.prepare(sql);
    this.s = {
      devices: p(`SELECT * FROM key_devices WHERE user_id = ? ORDER BY device`),
      count: p(`SELECT COUNT(*) AS n FROM key_prekeys WHERE user_id = ? AND device = ?`),
      putDevice: p(`INSERT OR REPLACE INTO key_devices (user_id, device, registration_id, identity_key, spk_id, spk, spk_sig, kpk_id, kpk, kpk_sig)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      dropPrekeys: p(`DELETE FROM key_prekeys WHERE user_id = ? AND device = ?`),
      putPrekey: p(`INSERT OR REPLACE INTO key_prekeys (user_id, device, id, public_key) VALUES (?, ?, ?, ?)`),
      firstPrekey: p(`SELECT id, public_key FROM key_prekeys WHERE user_id = ? AND device = ? ORDER BY id LIMIT 1`),
      deletePrekey: p(`DELETE FROM key_prekeys WHERE user_id = ? AND device = ? AND id = ?`),
    };
    const put = db.transaction((w: KeysWrite) => {
      const d = w.device;
      if (w.reset) this.s.dropPrekeys!.run(d.user, d.device);
      this.s.putDevice!.run(d.user, d.device, d.registration_id, d.identity_key, d.signed_prekey.id, d.signed_prekey.public_key,
        d.signed_prekey.signature, d.kyber_prekey.id, d.kyber_prekey.public_key, d.kyber_prekey.signature);
      for (const k of w.one_time_prekeys) this.s.putPrekey!.run(d.user, d.device, k.id, k.public_key);
    });
    this.putTx = (w) => put.immediate(w);
    const take = db.transaction((user: number) => {
      const out: TakenBundle[] = [];
      for (const row of this.s.devices!.all(user) as DeviceRow[]) {
        const pk = this.s.firstPrekey!.get(user, row.device) as { id: number; public_key: Buffer } | undefined;
        if (pk) this.s.deletePrekey!.run(user, row.device, pk.id);
        const one: OneTimeKey | null = pk ? { id: pk.id, public_key: pk.public_key } : null;
        out.push({ ...deviceOf(row), one_time_prekey: one, one_time_left: this.count(user, row.device) });
      }
      return out;
    });
    this.takeTx = (user) => take.immediate(user);
  }

  async devices(user: number): Promise<DeviceKeys[]> {
    return (this.s.devices!.all(user) as DeviceRow[]).map(deviceOf);
  }

  async oneTimeCount(user: number, device: number): Promise<number> {
    return this.count(user, device);
  }

  async putKeys(write: KeysWrite): Promise<void> {
    this.putTx(write);
  }

  async takeBundles(user: number): Promise<TakenBundle[]> {
    return this.takeTx(user);
  }

  private count(user: number, device: number): number {
    return (this.s.count!.get(user, device) as { n: number }).n;
  }
}

function deviceOf(r: DeviceRow): DeviceKeys {
  return {
    user: r.user_id, device: r.device, registration_id: r.registration_id, identity_key: r.identity_key,
    signed_prekey: { id: r.spk_id, public_key: r.spk, signature: r.spk_sig },
    kyber_prekey: { id: r.kpk_id, public_key: r.kpk, signature: r.kpk_sig },
  };
}
