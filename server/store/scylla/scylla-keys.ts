// The key directory on the ScyllaDB store (server/store/keys.ts; tables in
// migrations/005-key-directory.ts).
//
// Exactly-once one-time prekeys across chat nodes: a take reads a short slice
// of the device's prekeys (an ordinary read), picks one at random, and deletes
// it with a lightweight transaction, DELETE ... IF public_key = ?. Paxos lets
// exactly one of any number of racing deletes of a row apply; a fetcher whose
// delete did not apply tries another candidate (the random pick keeps racing
// fetchers apart), and re-reads when its slice is used up, within
// take_rounds_max rounds. Why an LWT and not a counter or a lock: a counter
// cannot be read-and-claimed atomically, a lock is a second LWT plus a lease,
// and the condition on the value (not just IF EXISTS) also stops a fetcher
// from handing out a stale key when the same id was re-uploaded meanwhile.
//
// Cost, per device of a fetch (measured in bench/, docs/design/021-e2ee.md):
// 1 slice read + >= 1 LWT (4 round trips of Paxos between replicas: the
// expensive part) + 1 COUNT over <= prekeys_per_device_max cells.
import type { Client } from 'cassandra-driver';
import type { DeviceKeys, KeyDirectory, KeysWrite, OneTimeKey, TakenBundle } from '../keys';
import { asBuffer, num, type Row } from './cells';
import type { RequestOptions } from './statements';

/** A take's rounds of (read a slice, try its keys) before it reports "none left": racing fetchers only ever cost a round. */
const TAKE_ROUNDS_MAX = 8;
/** Candidates read per round: enough that a few racing fetchers rarely pick the same one. */
const TAKE_SLICE_KEYS = 16;

export class ScyllaKeys implements KeyDirectory {
  private readonly q: ReturnType<typeof keyStatements>;

  constructor(private readonly client: Client, keyspace: string, private readonly o: RequestOptions) {
    this.q = keyStatements(keyspace);
  }

  async devices(user: number): Promise<DeviceKeys[]> {
    const rs = await this.client.execute(this.q.devices, [user], this.o.read);
    return rs.rows.map((r) => deviceOf(user, r));
  }

  async oneTimeCount(user: number, device: number): Promise<number> {
    const row = (await this.client.execute(this.q.count, [user, device], this.o.read)).first();
    return row ? num(row.n) : 0;
  }

  async putKeys(w: KeysWrite): Promise<void> {
    const d = w.device;
    if (w.reset) await this.client.execute(this.q.dropPrekeys, [d.user, d.device], this.o.write);
    await this.client.execute(this.q.putDevice, [d.user, d.device, d.registration_id, asBuffer(d.identity_key),
      d.signed_prekey.id, asBuffer(d.signed_prekey.public_key), asBuffer(d.signed_prekey.signature),
      d.kyber_prekey.id, asBuffer(d.kyber_prekey.public_key), asBuffer(d.kyber_prekey.signature)], this.o.write);
    if (w.one_time_prekeys.length === 0) return;
    // One CQL partition: an unlogged batch is one mutation on its replicas.
    const inserts = w.one_time_prekeys.map((k) => ({ query: this.q.putPrekey, params: [d.user, d.device, k.id, asBuffer(k.public_key)] }));
    await this.client.batch(inserts, { ...this.o.write, logged: false });
  }

  async takeBundles(user: number): Promise<TakenBundle[]> {
    const devices = await this.devices(user);
    return Promise.all(devices.map(async (d) => {
      const one = await this.takeOne(user, d.device);
      return { ...d, one_time_prekey: one, one_time_left: await this.oneTimeCount(user, d.device) };
    }));
  }

  private async takeOne(user: number, device: number): Promise<OneTimeKey | null> {
    for (let round = 0; round < TAKE_ROUNDS_MAX; round++) {
      const rows = (await this.client.execute(this.q.slice, [user, device, TAKE_SLICE_KEYS], this.o.read)).rows;
      if (rows.length === 0) return null;
      const candidates = rows.map((r) => ({ id: r.id as number, public_key: r.public_key as Buffer }));
      while (candidates.length > 0) {
        const [k] = candidates.splice(Math.floor(Math.random() * candidates.length), 1);
        const r = (await this.client.execute(this.q.takePrekey, [user, device, k!.id, k!.public_key], this.o.lwt)).first();
        if (r['[applied]']) return k!;
      }
    }
    return null;
  }
}

function keyStatements(ks: string) {
  return {
    devices: `SELECT device, registration_id, identity_key, spk_id, spk, spk_sig, kpk_id, kpk, kpk_sig FROM ${ks}.key_devices WHERE user = ?`,
    putDevice: `INSERT INTO ${ks}.key_devices (user, device, registration_id, identity_key, spk_id, spk, spk_sig, kpk_id, kpk, kpk_sig)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    count: `SELECT COUNT(*) AS n FROM ${ks}.key_prekeys WHERE user = ? AND device = ?`,
    dropPrekeys: `DELETE FROM ${ks}.key_prekeys WHERE user = ? AND device = ?`,
    putPrekey: `INSERT INTO ${ks}.key_prekeys (user, device, id, public_key) VALUES (?, ?, ?, ?)`,
    slice: `SELECT id, public_key FROM ${ks}.key_prekeys WHERE user = ? AND device = ? LIMIT ?`,
    takePrekey: `DELETE FROM ${ks}.key_prekeys WHERE user = ? AND device = ? AND id = ? IF public_key = ?`,
  };
}

function deviceOf(user: number, r: Row): DeviceKeys {
  return {
    user, device: r.device as number, registration_id: r.registration_id as number, identity_key: r.identity_key as Buffer,
    signed_prekey: { id: r.spk_id as number, public_key: r.spk as Buffer, signature: r.spk_sig as Buffer },
    kyber_prekey: { id: r.kpk_id as number, public_key: r.kpk as Buffer, signature: r.kpk_sig as Buffer },
  };
}
