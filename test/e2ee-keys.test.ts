// The key directory through the real gateway and chat service (embedded store;
// the store-level contract, on SQLite and Cassandra, is in
// test/helpers/store-conformance/keys.ts): uploads with real libsignal keys,
// bad uploads refused with clear codes and nothing stored, a one-time prekey
// handed to exactly one of many concurrent fetchers, PrekeysLow and the refill
// it triggers, device and rate limits, signed prekey rotation.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { RunningSystem } from '../deploy/local-system';
import { E2eeDevice } from '../loadgen/client/e2ee/device';
import { ServerError } from '../loadgen/client/chat-client';
import { ErrorCode } from '../server/common/errors';
import type { KeysUploadBody, PrekeysLowBody } from '../server/common/protocol';
import { connectE2ee, messagesFrom } from './helpers/e2ee';
import { connectReady, newUserId, waitFor, type TestClient } from './helpers/system';
import { startSystem } from '../deploy/local-system';

const LIMITS = {
  WA_DEVICES_PER_USER_MAX: '3',
  WA_KEY_FETCHES_PER_USER_PER_SECOND_MAX: '20',
  WA_PREKEYS_PER_DEVICE_MAX: '40',
  WA_PREKEYS_LOW_THRESHOLD: '10',
};

async function refused(p: Promise<unknown>, code: string, what: string): Promise<void> {
  await assert.rejects(p, (e: Error) => e instanceof ServerError && e.code === code, `${what}: expected ${code}`);
}

function prekeysLow(c: TestClient): PrekeysLowBody[] {
  return c.frames.filter((f) => f.body === 'prekeys_low').map((f) => (f as { prekeys_low: PrekeysLowBody }).prekeys_low);
}

describe('key directory through the gateway', () => {
  let sys: RunningSystem;
  const clients: TestClient[] = [];
  before(async () => {
    sys = await startSystem({ env: LIMITS });
  });
  after(async () => {
    for (const c of clients) c.close();
    await sys?.stop();
  });
  const keyCounters = async () => {
    const text = await (await fetch(sys.metricsUrls().chat)).text();
    const value = (name: string) => Number(new RegExp(`^${name} (\\d+)`, 'm').exec(text)?.[1] ?? NaN);
    return { fetches: value('wa_chat_key_fetches_total'), handedOut: value('wa_chat_prekeys_handed_out_total') };
  };
  const connect = async (user = newUserId()) => {
    const c = await connectReady(sys, user);
    clients.push(c);
    return c;
  };

  test('bad uploads get clear error codes, store nothing, and the connection keeps serving', async () => {
    const c = await connect();
    const dev = new E2eeDevice(c.userId, 1);
    const good = await dev.registrationUpload(5);
    const other = await new E2eeDevice(c.userId, 1).registrationUpload(1);
    const cases: [string, Partial<KeysUploadBody>, string][] = [
      ['an identity key of 32 bytes', { ...good, identity_key: good.identity_key.subarray(1) }, ErrorCode.BAD_KEY],
      ['a signed prekey signed by another identity', { ...good, signed_prekey: other.signed_prekey }, ErrorCode.BAD_KEY],
      ['a KEM prekey signed by another identity', { ...good, kyber_prekey: other.kyber_prekey }, ErrorCode.BAD_KEY],
      ['a KEM prekey of the wrong size', { ...good, kyber_prekey: { ...good.kyber_prekey!, public_key: good.kyber_prekey!.public_key.subarray(0, 1000) } }, ErrorCode.BAD_KEY],
      ['101 one-time prekeys', { ...good, one_time_prekeys: (await dev.refillUpload(101)).one_time_prekeys }, ErrorCode.TOO_MANY_PREKEYS],
      ['a first upload without the KEM prekey', { ...good, kyber_prekey: null }, ErrorCode.MISSING_FIELD],
      ['device 0', { ...good, device_id: 0 }, ErrorCode.INVALID_ARGUMENT],
      ['device 128', { ...good, device_id: 128 }, ErrorCode.INVALID_ARGUMENT],
      ['one prekey id twice', { ...good, one_time_prekeys: [good.one_time_prekeys[0]!, good.one_time_prekeys[0]!] }, ErrorCode.INVALID_ARGUMENT],
      ['a one-time prekey of 32 bytes', { ...good, one_time_prekeys: [{ id: 1, public_key: good.one_time_prekeys[0]!.public_key.subarray(1) }] }, ErrorCode.BAD_KEY],
    ];
    for (const [what, upload, code] of cases) await refused(c.uploadKeys(upload), code, what);
    const fetcher = await connect();
    assert.deepEqual((await fetcher.fetchKeys(c.userId)).devices, [], 'nothing of any refused upload was stored');
    await refused(fetcher.fetchKeys(newUserId()), ErrorCode.UNKNOWN_USER, 'a fetch for a user who does not exist');
    await refused(fetcher.fetchKeys(0), ErrorCode.MISSING_FIELD, 'a fetch without a user');
    const stored = await c.uploadKeys(good);
    assert.equal(stored.one_time_prekeys, 5, 'the same connection then stores a good upload');
  });

  test('a one-time prekey goes to exactly one of many concurrent fetchers; the owner hears PrekeysLow and refills', async () => {
    const before = await keyCounters();
    const uploaded = 12;
    const owner = await connectE2ee(sys, newUserId(), 1, uploaded);
    clients.push(owner.chat);
    const second = new E2eeDevice(owner.user, 2);
    await owner.chat.uploadKeys(await second.registrationUpload(uploaded));
    const fetchers = await Promise.all(Array.from({ length: 16 }, () => connect()));
    const results = await Promise.all(fetchers.map((f) => f.fetchKeys(owner.user)));
    for (const device of [1, 2]) {
      const ids = results.map((r) => r.devices.find((d) => d.device_id === device)?.one_time_prekey?.id ?? null);
      const given = ids.filter((id): id is number => id !== null);
      assert.equal(given.length, uploaded, `device ${device}: all ${uploaded} keys handed out to 16 fetchers`);
      assert.equal(new Set(given).size, uploaded, `device ${device}: none twice`);
    }
    await waitFor(() => owner.e2ee.refills >= 1, 10_000, 'device 1 refilled its one-time prekeys');
    const low = prekeysLow(owner.chat);
    assert.ok(low.some((p) => p.device_id === 1) && low.some((p) => p.device_id === 2), 'PrekeysLow named both devices');
    const next = await (await connect()).fetchKeys(owner.user);
    assert.ok(next.devices.find((d) => d.device_id === 1)!.one_time_prekey, 'after the refill, device 1 hands out one-time prekeys again');
    assert.equal(next.devices.find((d) => d.device_id === 2)!.one_time_prekey, null, 'device 2 (no refill) has none left: its bundle comes without one');
    const after = await keyCounters();
    assert.equal(after.fetches - before.fetches, 17, 'wa_chat_key_fetches_total counted the 17 fetches');
    assert.equal(after.handedOut - before.handedOut, 2 * uploaded + 1, 'wa_chat_prekeys_handed_out_total: 12 per device, then one after the refill');
  });

  test('limits: devices per user, prekeys held per device, fetches per second', async () => {
    const c = await connect();
    for (const d of [1, 2, 3]) await c.uploadKeys(await new E2eeDevice(c.userId, d).registrationUpload(1));
    await refused(c.uploadKeys(await new E2eeDevice(c.userId, 4).registrationUpload(1)), ErrorCode.TOO_MANY_DEVICES, 'a fourth device (devices_per_user_max=3)');
    const dev = new E2eeDevice(c.userId, 5);
    const d5 = await connect(c.userId);
    await refused(d5.uploadKeys(await dev.registrationUpload(1)), ErrorCode.TOO_MANY_DEVICES, 'a fourth device from another connection');
    const full = new E2eeDevice(newUserId(), 1);
    const fc = await connect(full.user);
    assert.equal((await fc.uploadKeys(await full.registrationUpload(30))).one_time_prekeys, 30);
    await refused(fc.uploadKeys(await full.refillUpload(11)), ErrorCode.TOO_MANY_PREKEYS, '30 held + 11 > prekeys_per_device_max=40');
    assert.equal((await fc.uploadKeys(await full.refillUpload(10))).one_time_prekeys, 40, 'up to the limit is fine');
    const burst = await Promise.allSettled(Array.from({ length: 30 }, () => fc.fetchKeys(c.userId)));
    const limited = burst.filter((r) => r.status === 'rejected' && (r.reason as ServerError).code === ErrorCode.KEY_RATE_LIMITED).length;
    const served = burst.filter((r) => r.status === 'fulfilled').length;
    assert.ok(limited >= 1 && served >= 1 && served <= 20 + 1, `30 fetches at once: ${served} served, ${limited} KEY_RATE_LIMITED (max 20/s)`);
  });

  test('signed prekey rotation: later fetches get the new one, and a session built on the old one still opens', async () => {
    const bob = await connectE2ee(sys);
    const alice = await connectE2ee(sys);
    const carol = await connectE2ee(sys);
    clients.push(bob.chat, alice.chat, carol.chat);
    const before = await alice.e2ee.ensureSessions(bob.user);
    assert.deepEqual(before, [1]);
    await bob.chat.uploadKeys(await bob.e2ee.device.rotationUpload());
    const fetched = await carol.chat.fetchKeys(bob.user);
    assert.equal(fetched.devices[0]!.signed_prekey.id, 2, 'the directory hands out the rotated signed prekey');
    await carol.e2ee.startSessions(bob.user, fetched.devices);
    await alice.e2ee.send(bob.user, Buffer.from('from alice, on the old signed prekey'));
    await carol.e2ee.send(bob.user, Buffer.from('from carol, on the new signed prekey'));
    await waitFor(() => messagesFrom(bob.chat, alice.user).length === 1 && messagesFrom(bob.chat, carol.user).length === 1, 10_000, 'both delivered');
    assert.equal(Buffer.from(await bob.e2ee.open(messagesFrom(bob.chat, alice.user)[0]!)).toString(), 'from alice, on the old signed prekey');
    assert.equal(Buffer.from(await bob.e2ee.open(messagesFrom(bob.chat, carol.user)[0]!)).toString(), 'from carol, on the new signed prekey');
  });
});
