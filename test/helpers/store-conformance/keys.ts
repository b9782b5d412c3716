// Store conformance, part: the key directory (server/store/keys.ts). What must
// hold on every engine: an upload reads back as stored, a reinstall (reset)
// drops the old one-time prekeys, and a one-time prekey is handed to exactly
// one fetcher however many fetch at once.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import type { DeviceKeys, KeysWrite, OneTimeKey } from '../../../server/store/store';
import type { ConformanceContext } from './world';

function signed(id: number, keyBytes: number): DeviceKeys['signed_prekey'] {
  return { id, public_key: randomBytes(keyBytes), signature: randomBytes(64) };
}

function device(user: number, dev: number): DeviceKeys {
  return { user, device: dev, registration_id: 100 + dev, identity_key: randomBytes(33), signed_prekey: signed(1, 33), kyber_prekey: signed(1, 1569) };
}

function prekeys(firstId: number, n: number): OneTimeKey[] {
  return Array.from({ length: n }, (_, i) => ({ id: firstId + i, public_key: randomBytes(33) }));
}

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

function plainDevice(d: DeviceKeys): Record<string, unknown> {
  return {
    user: d.user, device: d.device, registration_id: d.registration_id, identity_key: hex(d.identity_key),
    spk: [d.signed_prekey.id, hex(d.signed_prekey.public_key), hex(d.signed_prekey.signature)],
    kpk: [d.kyber_prekey.id, hex(d.kyber_prekey.public_key), hex(d.kyber_prekey.signature)],
  };
}

export function keysConformance(c: ConformanceContext): void {
  test('keys: an upload reads back as stored, per device; a user without keys has none', async () => {
    const user = c.w.user();
    assert.deepEqual(await c.store.keys.devices(user), []);
    assert.deepEqual(await c.store.keys.takeBundles(user), []);
    const d1 = device(user, 1);
    const d2 = device(user, 2);
    await c.store.keys.putKeys({ device: d1, reset: true, one_time_prekeys: prekeys(1, 5) });
    await c.store.keys.putKeys({ device: d2, reset: true, one_time_prekeys: [] });
    const got = (await c.store.keys.devices(user)).sort((a, b) => a.device - b.device);
    assert.deepEqual(got.map(plainDevice), [plainDevice(d1), plainDevice(d2)]);
    assert.equal(await c.store.keys.oneTimeCount(user, 1), 5);
    assert.equal(await c.store.keys.oneTimeCount(user, 2), 0);
  });

  test('keys: a take hands out one one-time prekey per device and says how many are left', async () => {
    const user = c.w.user();
    const keys = prekeys(10, 3);
    await c.store.keys.putKeys({ device: device(user, 1), reset: true, one_time_prekeys: keys });
    await c.store.keys.putKeys({ device: device(user, 3), reset: true, one_time_prekeys: [] });
    const taken = (await c.store.keys.takeBundles(user)).sort((a, b) => a.device - b.device);
    assert.deepEqual(taken.map((b) => b.device), [1, 3]);
    const one = taken[0]!.one_time_prekey!;
    assert.ok(keys.some((k) => k.id === one.id && hex(k.public_key) === hex(one.public_key)), 'a key that was uploaded, with its own public key');
    assert.equal(taken[0]!.one_time_left, 2);
    assert.equal(taken[1]!.one_time_prekey, null, 'a device without one-time prekeys still gets a bundle (X3DH without one)');
    assert.equal(taken[1]!.one_time_left, 0);
  });

  test('keys: a rotation keeps the one-time prekeys; a reset (new identity) drops them', async () => {
    const user = c.w.user();
    const d = device(user, 1);
    await c.store.keys.putKeys({ device: d, reset: true, one_time_prekeys: prekeys(1, 4) });
    const rotated: KeysWrite = { device: { ...d, signed_prekey: signed(2, 33) }, reset: false, one_time_prekeys: prekeys(5, 2) };
    await c.store.keys.putKeys(rotated);
    assert.equal(await c.store.keys.oneTimeCount(user, 1), 6);
    assert.equal((await c.store.keys.devices(user))[0]!.signed_prekey.id, 2);
    await c.store.keys.putKeys({ device: device(user, 1), reset: true, one_time_prekeys: prekeys(100, 1) });
    assert.equal(await c.store.keys.oneTimeCount(user, 1), 1);
    const [b] = await c.store.keys.takeBundles(user);
    assert.equal(b!.one_time_prekey!.id, 100, 'only the new identity\'s prekey is left');
  });

  test('keys: concurrent fetches never get the same one-time prekey, and every key is handed out once', async () => {
    const user = c.w.user();
    const uploaded = 24;
    const fetchers = 40;
    await c.store.keys.putKeys({ device: device(user, 1), reset: true, one_time_prekeys: prekeys(1, uploaded) });
    await c.store.keys.putKeys({ device: device(user, 2), reset: true, one_time_prekeys: prekeys(1, uploaded) });
    const all = await Promise.all(Array.from({ length: fetchers }, () => c.store.keys.takeBundles(user)));
    for (const dev of [1, 2]) {
      const ids = all.map((bundles) => bundles.find((b) => b.device === dev)!.one_time_prekey?.id ?? null);
      const given = ids.filter((id): id is number => id !== null);
      assert.equal(new Set(given).size, given.length, `device ${dev}: no one-time prekey handed out twice`);
      assert.equal(given.length, uploaded, `device ${dev}: every uploaded key handed out (${fetchers} fetchers, ${uploaded} keys)`);
      assert.equal(await c.store.keys.oneTimeCount(user, dev), 0);
    }
  });

  test('keys: fetchers on two stores over the same data (two chat nodes) never get the same one-time prekey', async (t) => {
    if (!c.h.peer) return t.skip('this store has no second connection');
    const peer = await c.h.peer();
    try {
      const user = c.w.user();
      const uploaded = 20;
      await c.store.keys.putKeys({ device: device(user, 1), reset: true, one_time_prekeys: prekeys(1, uploaded) });
      const stores = [c.store, peer];
      const all = await Promise.all(Array.from({ length: 30 }, (_, i) => stores[i % 2]!.keys.takeBundles(user)));
      const given = all.map((b) => b[0]!.one_time_prekey?.id ?? null).filter((id): id is number => id !== null);
      assert.equal(given.length, uploaded, 'every key handed out');
      assert.equal(new Set(given).size, uploaded, 'none twice across the two stores');
    } finally {
      await peer.close();
    }
  });
}
