// End-to-end encrypted messaging through the real gateway and chat service
// (embedded store), with the client module over libsignal (loadgen/client/e2ee):
// a session establishes from a fetched bundle, messages decrypt in order and
// out of order (skipped message keys), every device of the recipient opens its
// copy, and afterwards the store's files hold no plaintext of any sent message.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { CiphertextMessageType } from '@signalapp/libsignal-client';
import { startSystem, type RunningSystem } from '../deploy/local-system';
import { decodeEnvelope } from '../loadgen/client/e2ee/envelope';
import { connectE2ee, messagesFrom, secretText, type E2eeUser } from './helpers/e2ee';
import { newUserId, waitFor, type TestClient } from './helpers/system';

const text = (b: Uint8Array) => Buffer.from(b).toString();

describe('end-to-end encrypted messaging', () => {
  let sys: RunningSystem;
  const dataDir = mkdtempSync(join(tmpdir(), 'wa-e2ee-'));
  const clients: TestClient[] = [];
  /** Every plaintext sent encrypted in this file: the blindness scan looks for each. */
  const sent: string[] = [];
  before(async () => {
    sys = await startSystem({ dataDir });
  });
  after(async () => {
    for (const c of clients) c.close();
    await sys?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });
  const user = async (id = newUserId(), device = 1): Promise<E2eeUser> => {
    const u = await connectE2ee(sys, id, device);
    clients.push(u.chat);
    return u;
  };
  const sendAll = async (from: E2eeUser, to: number, tag: string, n: number): Promise<string[]> => {
    const texts = Array.from({ length: n }, (_, i) => secretText(tag, i));
    for (const t of texts) await from.e2ee.send(to, Buffer.from(t));
    sent.push(...texts);
    return texts;
  };

  test('a session establishes; messages decrypt in order and out of order', async () => {
    const alice = await user();
    const bob = await user();
    const first = await sendAll(alice, bob.user, 'first', 5);
    await waitFor(() => messagesFrom(bob.chat, alice.user).length === 5, 10_000, 'five delivered');
    const got = messagesFrom(bob.chat, alice.user);
    assert.ok(got.every((m) => decodeEnvelope(m.body).entries.get(1)!.type === CiphertextMessageType.PreKey),
      'until bob answers, each message is a PreKeySignalMessage');
    for (const m of got) assert.ok(!Buffer.from(m.body).includes(Buffer.from(first[0]!)), 'the relayed body is not the plaintext');
    // Out of order: the third first, then the first, the fifth, the second, the fourth.
    for (const i of [2, 0, 4, 1, 3]) assert.equal(text(await bob.e2ee.open(got[i]!)), first[i]);
    await assert.rejects(bob.e2ee.open(got[2]!), 'a message opens once: its message key is gone (no replay)');

    const reply = await sendAll(bob, alice.user, 'reply', 1);
    await waitFor(() => messagesFrom(alice.chat, bob.user).length === 1, 10_000, 'reply delivered');
    assert.equal(text(await alice.e2ee.open(messagesFrom(alice.chat, bob.user)[0]!)), reply[0]);

    const later = await sendAll(alice, bob.user, 'later', 6);
    await waitFor(() => messagesFrom(bob.chat, alice.user).length === 11, 10_000, 'six more delivered');
    const ratchet = messagesFrom(bob.chat, alice.user).slice(5);
    assert.ok(ratchet.every((m) => decodeEnvelope(m.body).entries.get(1)!.type === CiphertextMessageType.Whisper),
      'after the reply, plain SignalMessages (the ratchet has turned)');
    for (const i of [5, 3, 4, 0, 2, 1]) assert.equal(text(await bob.e2ee.open(ratchet[i]!)), later[i], `message ${i} after skipping`);
  });

  test('a message reaches each of the recipient\'s devices, and each opens its own copy', async () => {
    const carol = newUserId();
    const phone = await user(carol, 1);
    const laptop = await user(carol, 2);
    const dave = await user();
    const texts = await sendAll(dave, carol, 'devices', 3);
    for (const d of [phone, laptop]) {
      await waitFor(() => messagesFrom(d.chat, dave.user).length === 3, 10_000, `device ${d.e2ee.device.device} got all three`);
      const got = messagesFrom(d.chat, dave.user);
      assert.deepEqual(await Promise.all(got.map(async (m) => text(await d.e2ee.open(m)))), texts);
    }
    assert.equal(decodeEnvelope(messagesFrom(phone.chat, dave.user)[0]!.body).entries.size, 2, 'one ciphertext per device');
  });

  test('the server is blind: no plaintext of any sent message in the store, and the scan does find a clear one', async () => {
    assert.ok(sent.length >= 15, `${sent.length} encrypted messages sent before the scan`);
    const eve = await user();
    const clear = secretText('clear-control', 0);
    const frank = await user();
    await eve.chat.send(frank.user, Buffer.from(clear));
    const path = join(dataDir, 'messages.sqlite');
    const db = new Database(path, { readonly: true });
    let bodies: Buffer[];
    try {
      bodies = (db.prepare('SELECT body FROM messages').all() as { body: Buffer }[]).map((r) => r.body);
    } finally {
      db.close();
    }
    const files = [path, `${path}-wal`].filter(existsSync).map((f) => readFileSync(f));
    const found = (needle: string) => bodies.some((b) => b.includes(needle)) || files.some((f) => f.includes(needle));
    assert.ok(found(clear), 'the control: a body sent in the clear IS found by the same scan');
    const leaked = sent.filter(found);
    assert.deepEqual(leaked, [], 'no plaintext of any encrypted message in the store');
  });
});
