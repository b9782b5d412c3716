// Per-user limits (issue 15), on a real gateway and chat service: the frame
// rate is one budget across all of a user's connections, a user holds at most
// user_connections_max connections on a gateway, and groups created and
// members added per hour are bounded per user. Each refusal carries its code.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startSystem, type RunningSystem } from '../deploy/local-system';
import { ErrorCode } from '../server/common/errors';
import { encodeClientFrame, frameBatch, GroupChangeKind } from '../server/common/protocol';
import { connectUser, newUserId, provisionFresh, sleep, type TestClient } from './helpers/system';
import { isRefusedWith, upgradeStatus, errorsOf, WAIT_MS } from './helpers/limits-world';
import { mintToken } from '../server/common/token';
import { waitFor } from '../deploy/local-system';

const L = {
  user_frames_per_second_max: 10,
  user_frames_burst_max: 12,
  batch_frames_max: 4,
  user_connections_max: 3,
  user_groups_created_per_hour_max: 2,
  user_group_members_added_per_hour_max: 5,
};
const ENV = Object.fromEntries(Object.entries(L).map(([k, v]) => [`WA_${k.toUpperCase()}`, String(v)]));

function pings(n: number, ref0: number): Uint8Array {
  return frameBatch(Array.from({ length: n }, (_, i) => encodeClientFrame({ ref: ref0 + i, ping: { client_time_ms: i } })));
}

describe('per-user limits', { timeout: 60_000 }, () => {
  let sys: RunningSystem;
  const open: TestClient[] = [];
  const client = async (user?: number): Promise<TestClient> => {
    const c = await connectUser(sys, user, { requestTimeoutMs: WAIT_MS });
    open.push(c);
    return c;
  };
  before(async () => {
    sys = await startSystem({ env: ENV });
  });
  after(async () => {
    for (const c of open) c.close();
    await sys?.stop();
  });

  it('the frame budget is shared by all of a user\'s connections: a second connection does not double it', async () => {
    const user = newUserId();
    const a = await client(user);
    const b = await client(user);
    // 3 batches of 4 on each connection at once: 24 frames against one bucket of 12.
    for (let i = 0; i < 3; i++) {
      a.sendRaw(pings(4, 100 + i * 10));
      b.sendRaw(pings(4, 500 + i * 10));
    }
    const pongs = (c: TestClient) => c.frames.filter((f) => f.body === 'pong').length;
    await waitFor(() => pongs(a) + pongs(b) + 4 * (errorsOf(a).length + errorsOf(b).length) >= 24, WAIT_MS, 'every frame answered or refused');
    await sleep(100);
    const refused = [...errorsOf(a), ...errorsOf(b)];
    assert.ok(refused.length >= 3, `at least 3 of 6 batches refused (got ${refused.length})`);
    assert.ok(refused.every((e) => e.code === ErrorCode.RATE_LIMITED));
    assert.ok(pongs(a) + pongs(b) <= L.user_frames_burst_max + 4, `served ${pongs(a) + pongs(b)} frames, the bucket holds ${L.user_frames_burst_max}`);
    // Another user has a budget of its own.
    const other = await client();
    await other.ping();
  });

  it('a user holds at most user_connections_max connections: one more is refused with 429, another user is not', async () => {
    const user = newUserId();
    const conns: TestClient[] = [];
    for (let i = 0; i < L.user_connections_max; i++) conns.push(await client(user));
    const url = `${sys.gatewayUrl}`;
    assert.equal(await upgradeStatus(url, { authorization: `Bearer ${mintToken(sys.secret, user, 3600)}` }), 429);
    assert.equal(await upgradeStatus(url, { authorization: `Bearer ${mintToken(sys.secret, newUserId(), 3600)}` }), 101);
    // A slot freed is a slot usable again.
    const closed = conns[0]!.closedPromise();
    conns[0]!.close();
    await closed;
    await waitFor(async () => (await upgradeStatus(url, { authorization: `Bearer ${mintToken(sys.secret, user, 3600)}` })) === 101, WAIT_MS, 'a freed slot');
    for (const c of conns.slice(1)) await c.ping();
  });

  it('groups created per hour are limited per user with GROUP_RATE_LIMITED', async () => {
    const [creator, m1] = await provisionFresh(sys, 2);
    const c = await client(creator);
    await c.createGroup('one', [m1!]);
    await c.createGroup('two', []);
    await assert.rejects(c.createGroup('three', []), isRefusedWith(ErrorCode.GROUP_RATE_LIMITED));
    // Another user creates freely.
    const d = await client();
    await d.createGroup('theirs', []);
  });

  it('members added per hour (creation included) are limited per user with GROUP_RATE_LIMITED; nothing of a refused add is applied', async () => {
    const ids = await provisionFresh(sys, 8);
    const c = await client(ids[0]);
    const g = await c.createGroup('adds', ids.slice(1, 4)); // 3 added
    await assert.rejects(c.changeGroup(g.chat_id, GroupChangeKind.ADD, ids.slice(4, 7)), isRefusedWith(ErrorCode.GROUP_RATE_LIMITED));
    const info = await c.changeGroup(g.chat_id, GroupChangeKind.ADD, ids.slice(4, 6)); // 3 + 2 = 5: fits
    assert.equal(info.members.length, 6);
    await assert.rejects(c.changeGroup(g.chat_id, GroupChangeKind.ADD, [ids[7]!]), isRefusedWith(ErrorCode.GROUP_RATE_LIMITED));
  });
});
