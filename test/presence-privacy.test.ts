// Presence privacy (issue 15), on a real gateway and chat service: a user may
// watch only users who share a chat with them (1:1 or group; the rest get
// PRESENCE_NOT_ALLOWED and are never reported), and a user's last-seen
// setting (everyone / contacts = a 1:1 chat / nobody) decides who hears their
// online status and last seen. The setting is stored: it survives a restart
// of the chat service.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startSystem, type RunningSystem } from '../deploy/local-system';
import { ErrorCode } from '../server/common/errors';
import { encodeClientFrame, frameBatch, LastSeenPrivacy, type PresenceBody } from '../server/common/protocol';
import { connectUser, newUserId, sleep, text, waitFor, type TestClient } from './helpers/system';
import { errorsOf, sendDelivered, WAIT_MS } from './helpers/limits-world';

function presenceOf(c: TestClient, user: number): PresenceBody[] {
  return c.frames.flatMap((f) => (f.body === 'presence' && f.presence.user === user ? [{ ...f.presence }] : []));
}

function subscribe(c: TestClient, ref: number, users: number[]): void {
  c.sendRaw(frameBatch([encodeClientFrame({ ref, presence_subscribe: { user_ids: users } })]));
}

/** Closes `c` and waits until the server has seen it go (its close frame answered). */
async function closeAndWait(c: TestClient): Promise<void> {
  const closed = c.closedPromise();
  c.close();
  await closed;
}

describe('presence privacy', { timeout: 60_000 }, () => {
  let sys: RunningSystem;
  const open: TestClient[] = [];
  const client = async (user?: number): Promise<TestClient> => {
    const c = await connectUser(sys, user, { requestTimeoutMs: WAIT_MS });
    open.push(c);
    return c;
  };
  before(async () => {
    sys = await startSystem({});
  });
  after(async () => {
    for (const c of open) c.close();
    await sys?.stop();
  });

  it('a user who shares no chat cannot be watched: PRESENCE_NOT_ALLOWED, and nothing about them is ever sent', async () => {
    const watcher = await client();
    const stranger = await client();
    const contact = await client();
    await sendDelivered(watcher, contact, 'hi');
    subscribe(watcher, 41, [stranger.userId, contact.userId]);
    await waitFor(() => errorsOf(watcher).length > 0 && presenceOf(watcher, contact.userId).length > 0, WAIT_MS, 'error and snapshot');
    const err = errorsOf(watcher)[0]!;
    assert.equal(err.code, ErrorCode.PRESENCE_NOT_ALLOWED);
    assert.equal(err.ref, 41);
    assert.match(err.message, new RegExp(String(stranger.userId)));
    await closeAndWait(stranger);
    await closeAndWait(contact);
    await waitFor(() => presenceOf(watcher, contact.userId).some((p) => !p.online), WAIT_MS, 'the contact goes offline');
    await sleep(100);
    assert.deepEqual(presenceOf(watcher, stranger.userId), [], 'not one presence frame about the stranger');
  });

  it('sharing a group is enough to watch', async () => {
    const a = await client();
    const b = await client();
    await a.createGroup('shared', [b.userId]);
    subscribe(b, 42, [a.userId]);
    await waitFor(() => presenceOf(b, a.userId).some((p) => p.online), WAIT_MS, 'a online');
    assert.equal(errorsOf(b).length, 0);
  });

  it('last seen NOBODY: a contact sees neither online nor last seen, before and after a chat-service restart; EVERYONE shows it again', async () => {
    const hiddenId = newUserId();
    let hidden = await client(hiddenId);
    const watcher = await client();
    await sendDelivered(watcher, hidden, 'hi');
    assert.equal(await hidden.setPrivacy(LastSeenPrivacy.NOBODY), LastSeenPrivacy.NOBODY);
    subscribe(watcher, 43, [hiddenId]);
    await waitFor(() => presenceOf(watcher, hiddenId).length === 1, WAIT_MS, 'snapshot');
    assert.deepEqual(presenceOf(watcher, hiddenId)[0], { user: hiddenId, online: false, last_seen_ms: 0 });
    await closeAndWait(hidden);
    hidden = await client(hiddenId);
    await hidden.ping();
    await sleep(200);
    assert.equal(presenceOf(watcher, hiddenId).length, 1, 'no online/offline updates for a NOBODY user');

    // Stored: a restarted chat service still hides the user.
    await sys.killChat();
    await sys.startChat();
    await waitFor(async () => (await sys.health(0)).chat_link === 'up', 10_000, 'link back up');
    const watcher2 = await client();
    await sendDelivered(watcher2, hidden, 'hi again').catch(async () => {
      // The hidden user's old socket may have been dropped with the chat service: reconnect it.
      hidden = await client(hiddenId);
      await sendDelivered(watcher2, hidden, 'hi again');
    });
    subscribe(watcher2, 44, [hiddenId]);
    await waitFor(() => presenceOf(watcher2, hiddenId).length === 1, WAIT_MS, 'snapshot after restart');
    assert.deepEqual(presenceOf(watcher2, hiddenId)[0], { user: hiddenId, online: false, last_seen_ms: 0 });

    await hidden.setPrivacy(LastSeenPrivacy.EVERYONE);
    subscribe(watcher2, 45, [hiddenId]);
    await waitFor(() => presenceOf(watcher2, hiddenId).some((p) => p.online), WAIT_MS, 'visible again');
  });

  it('last seen CONTACTS: a 1:1 contact sees it, a member of a shared group only does not', async () => {
    const target = await client();
    const contact = await client();
    const groupMate = await client();
    await sendDelivered(contact, target, 'hi');
    await target.createGroup('mates', [groupMate.userId]);
    await target.setPrivacy(LastSeenPrivacy.CONTACTS);
    subscribe(contact, 46, [target.userId]);
    subscribe(groupMate, 47, [target.userId]);
    await waitFor(() => presenceOf(contact, target.userId).length === 1 && presenceOf(groupMate, target.userId).length === 1, WAIT_MS, 'snapshots');
    assert.equal(presenceOf(contact, target.userId)[0]!.online, true);
    assert.deepEqual(presenceOf(groupMate, target.userId)[0], { user: target.userId, online: false, last_seen_ms: 0 });
    await closeAndWait(target);
    await waitFor(() => presenceOf(contact, target.userId).some((p) => !p.online && p.last_seen_ms > 0), WAIT_MS, 'contact hears offline');
    await sleep(100);
    assert.equal(presenceOf(groupMate, target.userId).length, 1, 'the group mate heard nothing more');
  });

  it('an unknown privacy value is refused at the edge with INVALID_ARGUMENT', async () => {
    const a = await client();
    a.sendRaw(frameBatch([encodeClientFrame({ ref: 48, set_privacy: { last_seen: 9 } })]));
    await waitFor(() => errorsOf(a).length > 0, WAIT_MS, 'the refusal');
    assert.equal(errorsOf(a)[0]!.code, ErrorCode.INVALID_ARGUMENT);
    assert.equal(errorsOf(a)[0]!.ref, 48);
    void text;
  });
});
