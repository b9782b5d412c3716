// Store conformance, part: an empty store, and users: registration, provisioning, existence, last seen.
// The tests of one part run in order, sharing the store of test/helpers/store-conformance/index.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { directChatId } from '../../../server/common/chat-id';
import { PROVISIONED_USER_ID_MIN } from '../../../server/common/ids';
import { batch, type ConformanceContext } from './world';

export function usersConformance(c: ConformanceContext): void {
  // ------------------------------------------------------------------ an empty store

  test('a new store is empty: no messages, no chats, no users', async () => {
    assert.equal(await c.store.maxMessageId(), 0);
    assert.equal(await c.store.loadChat(directChatId(c.w.user(), c.w.user())), null);
    assert.equal(await c.store.getUser(c.w.user()), null);
    assert.equal(typeof c.store.engine, 'string');
    assert.ok(c.store.engine.length > 0, 'a store names its engine');
  });

  // ------------------------------------------------------------------ users

  test('registering the same phone twice returns the same id, created only the first time', async () => {
    const phone = c.w.phone();
    const first = await c.store.registerUser(phone, 'Ada', 1000);
    const again = await c.store.registerUser(phone, 'Ada again', 2000);
    assert.equal(first.created, true);
    assert.equal(again.created, false);
    assert.equal(again.id, first.id);
  });

  test('registered users get distinct positive ids below PROVISIONED_USER_ID_MIN', async () => {
    const ids: number[] = [];
    for (let i = 0; i < 5; i++) ids.push((await c.store.registerUser(c.w.phone(), `user ${i}`, 1000)).id);
    assert.equal(new Set(ids).size, ids.length, `distinct ids: ${ids.join(', ')}`);
    for (const id of ids) {
      assert.ok(Number.isSafeInteger(id) && id > 0, `id ${id} is a positive integer`);
      assert.ok(id < PROVISIONED_USER_ID_MIN, `registered id ${id} is below the load-test range`);
    }
  });

  test('concurrent registrations: one phone gets one id, different phones get different ids', async () => {
    const phone = c.w.phone();
    const same = await Promise.all([c.store.registerUser(phone, 'x', 1), c.store.registerUser(phone, 'x', 1), c.store.registerUser(phone, 'x', 1)]);
    assert.equal(new Set(same.map((r) => r.id)).size, 1, 'one id for one phone');
    assert.equal(same.filter((r) => r.created).length, 1, 'exactly one registration created the user');
    const different = await Promise.all(Array.from({ length: 8 }, () => c.store.registerUser(c.w.phone(), 'y', 1)));
    assert.equal(new Set(different.map((r) => r.id)).size, 8, 'eight phones, eight ids');
    assert.ok(different.every((r) => r.created));
  });

  test('getUser returns a registered user with phone and display name, and null for an unknown id', async () => {
    const phone = c.w.phone();
    const { id } = await c.store.registerUser(phone, 'Grace Hopper', 1234);
    const u = await c.store.getUser(id);
    assert.ok(u);
    assert.equal(u.id, id);
    assert.equal(u.phone, phone);
    assert.equal(u.display_name, 'Grace Hopper');
    assert.equal(u.last_seen_ms, 0, 'never seen yet');
    assert.equal(await c.store.getUser(c.w.user()), null);
  });

  test('provisionUsers counts the users it created and is idempotent', async () => {
    const first = c.w.userBlock(100);
    assert.equal(await c.store.provisionUsers(first, 60, 1000), 60);
    assert.equal(await c.store.provisionUsers(first, 60, 2000), 0, 'the same range again creates nobody');
    assert.equal(await c.store.provisionUsers(first + 40, 60, 3000), 40, 'an overlapping range creates only the new ones');
    assert.equal(await c.store.provisionUsers(first, 0, 3000), 0);
    const u = await c.store.getUser(first + 99);
    assert.ok(u, 'the last user of the range exists');
    assert.equal(u.id, first + 99);
    assert.equal(u.phone, '', 'provisioned users have no phone');
    assert.equal(await c.store.getUser(first + 100), null, 'the range ends where it says');
  });

  test('existingUsers returns exactly the ids that exist, whichever way they were made', async () => {
    const provisioned = c.w.userBlock(3);
    await c.store.provisionUsers(provisioned, 3, 1000);
    const ensured = c.w.user();
    await c.store.ensureUser(ensured, 1000);
    const registered = (await c.store.registerUser(c.w.phone(), 'r', 1000)).id;
    const unknown = [c.w.user(), c.w.user()];
    const asked = [provisioned, provisioned + 2, ensured, registered, ...unknown, ensured];
    const found = await c.store.existingUsers(asked);
    assert.deepEqual([...found].sort((a, b) => a - b), [provisioned, provisioned + 2, ensured, registered].sort((a, b) => a - b));
    assert.equal((await c.store.existingUsers([])).size, 0);
  });

  test('ensureUser creates a user once and is harmless to repeat', async () => {
    const id = c.w.user();
    await c.store.ensureUser(id, 1000);
    await c.store.ensureUser(id, 2000);
    const u = await c.store.getUser(id);
    assert.ok(u);
    assert.equal(u.id, id);
    assert.equal(u.phone, '');
    assert.equal(u.display_name, '');
    // Ensuring a registered user keeps its phone and name.
    const phone = c.w.phone();
    const reg = await c.store.registerUser(phone, 'Kept', 1000);
    await c.store.ensureUser(reg.id, 3000);
    const kept = await c.store.getUser(reg.id);
    assert.equal(kept?.phone, phone);
    assert.equal(kept?.display_name, 'Kept');
  });

  test('last_seen from a commit reads back through getUser; a later commit replaces it', async () => {
    const id = c.w.user();
    await c.store.ensureUser(id, 1000);
    await c.store.commit(batch({ last_seen: [{ user: id, last_seen_ms: 1_700_000_000_000 }] }));
    assert.equal((await c.store.getUser(id))?.last_seen_ms, 1_700_000_000_000);
    await c.store.commit(batch({ last_seen: [{ user: id, last_seen_ms: 1_700_000_060_000 }] }));
    assert.equal((await c.store.getUser(id))?.last_seen_ms, 1_700_000_060_000);
  });

  test('the last-seen privacy setting reads back through getUser; a new user has 0 (everyone)', async () => {
    const id = c.w.user();
    await c.store.ensureUser(id, 1000);
    assert.equal((await c.store.getUser(id))?.last_seen_privacy, 0);
    await c.store.setLastSeenPrivacy(id, 3);
    assert.equal((await c.store.getUser(id))?.last_seen_privacy, 3);
    await c.store.setLastSeenPrivacy(id, 2);
    assert.equal((await c.store.getUser(id))?.last_seen_privacy, 2);
  });
}
