// Groups end to end encrypted with sender keys, through the real gateway and
// chat service: each sender's key reaches the members over 1:1 sessions, one
// ciphertext per group message opens on every member, and after a member is
// removed the next send re-keys: the removed member cannot decrypt it, even
// holding the ciphertext. Control: a message under the old key (no re-key)
// still opens for the removed member, so the test can tell the difference.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startSystem, type RunningSystem } from '../deploy/local-system';
import { encodeEnvelope, GROUP_ENTRY } from '../loadgen/client/e2ee/envelope';
import type { Received } from '../loadgen/client/e2ee/e2ee-client';
import { GroupChangeKind, type MessageBody } from '../server/common/protocol';
import { connectE2ee, type E2eeUser } from './helpers/e2ee';
import { waitFor } from './helpers/system';

const str = (b: Uint8Array) => Buffer.from(b).toString();

/** Each client's messages, decrypted once, in arrival order. */
class Inbox {
  private seen = 0;
  readonly got: Received[] = [];
  constructor(readonly u: E2eeUser) {}

  messages(): MessageBody[] {
    return this.u.chat.frames.filter((f) => f.body === 'message').map((f) => (f as { message: MessageBody }).message);
  }

  /** Decrypt every message not yet seen, in order; resolves once `count` group texts have been read in all. */
  async until(count: number): Promise<string[]> {
    await waitFor(() => this.messages().filter((m) => m.chat_id.startsWith('g.') && !m.system).length >= count, 10_000, `user ${this.u.user}: ${count} group messages`);
    const all = this.messages();
    for (; this.seen < all.length; this.seen++) this.got.push(await this.u.e2ee.receive(all[this.seen]!));
    return this.got.filter((r) => r.kind === 'group_text').map((r) => str((r as { text: Uint8Array }).text));
  }
}

describe('group messages with sender keys', () => {
  let sys: RunningSystem;
  const users: E2eeUser[] = [];
  before(async () => {
    sys = await startSystem({});
  });
  after(async () => {
    for (const u of users) u.chat.close();
    await sys?.stop();
  });

  test('every member opens the group\'s messages; after a removal the removed member cannot read what follows', async () => {
    for (let i = 0; i < 4; i++) users.push(await connectE2ee(sys));
    const [alice, bob, carol, mallory] = users as [E2eeUser, E2eeUser, E2eeUser, E2eeUser];
    const inbox = new Map(users.map((u) => [u.user, new Inbox(u)]));
    const group = await alice.chat.createGroup('e2ee', [bob.user, carol.user, mallory.user]);
    const chatId = group.chat_id;
    const everyone = [alice.user, bob.user, carol.user, mallory.user];

    await alice.e2ee.sendToGroup(chatId, everyone, Buffer.from('one from alice'));
    await bob.e2ee.sendToGroup(chatId, everyone, Buffer.from('one from bob'));
    for (const u of [carol, mallory]) assert.deepEqual(await inbox.get(u.user)!.until(2), ['one from alice', 'one from bob']);
    assert.deepEqual(await inbox.get(alice.user)!.until(1), ['one from bob']);
    assert.equal(alice.e2ee.groups.rotations, 1, 'one sender key so far');

    await alice.chat.changeGroup(chatId, GroupChangeKind.REMOVE, [mallory.user]);
    const remaining = [alice.user, bob.user, carol.user];
    await alice.e2ee.sendToGroup(chatId, remaining, Buffer.from('alice after the removal'));
    assert.equal(alice.e2ee.groups.rotations, 2, 'the removal made alice re-key');
    assert.deepEqual(await inbox.get(carol.user)!.until(3), ['one from alice', 'one from bob', 'alice after the removal']);
    assert.deepEqual(await inbox.get(bob.user)!.until(2), ['one from alice', 'alice after the removal']);

    // The removed member gets the ciphertext anyway (a leak, a stolen backup): it does not open.
    const afterRemoval = inbox.get(carol.user)!.messages().filter((m) => m.chat_id === chatId && !m.system).at(-1)!;
    await assert.rejects(mallory.e2ee.receive(afterRemoval), 'the removed member cannot decrypt alice\'s message after the removal');
    assert.equal(inbox.get(mallory.user)!.messages().filter((m) => m.chat_id === chatId && !m.system).length, 2,
      'and the server delivered it nothing after the removal');

    // Control: bob has not sent since the removal, so his current key is still the one mallory holds.
    const stale = await bob.e2ee.groups.encrypt(chatId, Buffer.from('under the old key'));
    const staleBody = encodeEnvelope(1, new Map([[GROUP_ENTRY, stale]]));
    assert.equal(str(await mallory.e2ee.open({ from_user: bob.user, body: staleBody, chat_id: chatId })), 'under the old key',
      'without a re-key the removed member WOULD read it: the re-key is what protects later messages');

    await bob.e2ee.sendToGroup(chatId, remaining, Buffer.from('bob after the removal'));
    assert.equal(bob.e2ee.groups.rotations, 2, 'bob re-keyed on his first send after the removal');
    assert.deepEqual(await inbox.get(alice.user)!.until(2), ['one from bob', 'bob after the removal']);
    const bobs = inbox.get(carol.user)!.messages().filter((m) => m.chat_id === chatId && !m.system && m.from_user === bob.user).at(-1)!;
    await assert.rejects(mallory.e2ee.receive(bobs), 'nor bob\'s message after his re-key');
  });
});
