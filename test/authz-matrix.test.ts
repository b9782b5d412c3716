// The authorization matrix (issue 15): every request type that acts on a chat
// (or, for presence, on a user) x the actor's relation to it, with the
// expected answer, run over the WebSocket API (a real gateway and chat
// service) and over the chat service's gRPC Connect stream directly (a
// peer-authenticated link, no gateway in between: the chat service enforces
// every rule itself). A gRPC stream without a valid peer proof is refused.
//
// Relations, for the actor A: own = A's 1:1 chat with B; other1 = B's 1:1
// chat with C; nonmember = a group of B and C; removed = a group A was removed
// from; member = a group where A is a plain member; admin = a group where A
// was promoted to admin. 'ok' = the request was served (its reply, or no
// error before a later barrier reply).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { startSystem, type RunningSystem } from '../deploy/local-system';
import { DEFAULT_LIMITS } from '../server/common/config';
import { ErrorCode } from '../server/common/errors';
import { ChatServiceClient, type WireChatBatch } from '../server/common/grpc-defs';
import { clientProof, PEER_AUTH_HEADER, peerKey } from '../server/common/peer-auth';
import { directChatId } from '../server/common/chat-id';
import {
  decodeServerFrame, encodeClientFrame, frameBatch, GroupChangeKind, splitBatch, type ClientFrameInit, type ServerFrame,
} from '../server/common/protocol';
import { ChatLink } from '../server/gateway/chat-link';
import { connectUser, provisionFresh, sleep, text, waitFor, type TestClient } from './helpers/system';

const WAIT_MS = 5_000;
const RELATIONS = ['own', 'other1', 'nonmember', 'removed', 'member', 'admin'] as const;
type Relation = (typeof RELATIONS)[number];
type Answer = 'ok' | ErrorCode;
const NPA = ErrorCode.NOT_A_PARTICIPANT;

/** What the actor acts on in one relation. */
interface Scene {
  chatId: string;
  /** A message in that chat (for acks and message info). */
  msgId: number;
  /** A third user in the scene (a group's other member; C of B's 1:1 chat). */
  third: number;
  /** A user who exists and is in none of it (to add). */
  outsider: number;
  /** The actor's counterpart: B. */
  peer: number;
}

interface RequestType {
  name: string;
  frame: (s: Scene, rel: Relation) => ClientFrameInit;
  /** Which reply body counts as served (null: a request without reply; presence: a snapshot of the watched user). */
  expect: Record<Relation, Answer>;
}

const groupOnly = (admin: Answer, member: Answer): Record<Relation, Answer> =>
  ({ own: NPA, other1: NPA, nonmember: NPA, removed: NPA, member, admin });
const participant: Record<Relation, Answer> = { own: 'ok', other1: NPA, nonmember: NPA, removed: NPA, member: 'ok', admin: 'ok' };

const MATRIX: RequestType[] = [
  {
    name: 'send',
    frame: (s, rel) => ({ send: rel === 'own' ? { to_user: s.peer, client_msg_id: `m-${s.chatId}`, body: text('x') } : { chat_id: s.chatId, client_msg_id: `m-${s.chatId}`, body: text('x') } }),
    expect: participant,
  },
  { name: 'ack', frame: (s) => ({ ack: { chat_id: s.chatId, delivered_up_to: s.msgId, read_up_to: s.msgId } }), expect: participant },
  { name: 'history', frame: (s) => ({ history: { chat_id: s.chatId, before_id: 0, limit: 10 } }), expect: participant },
  { name: 'message_info', frame: (s) => ({ message_info: { chat_id: s.chatId, id: s.msgId } }), expect: participant },
  { name: 'group_info', frame: (s) => ({ group_info: { chat_id: s.chatId } }), expect: groupOnly('ok', 'ok') },
  { name: 'group add', frame: (s) => change(s, GroupChangeKind.ADD, [s.outsider]), expect: groupOnly('ok', ErrorCode.NOT_ADMIN) },
  { name: 'group remove', frame: (s) => change(s, GroupChangeKind.REMOVE, [s.third]), expect: groupOnly('ok', ErrorCode.NOT_ADMIN) },
  { name: 'group promote', frame: (s) => change(s, GroupChangeKind.PROMOTE, [s.third]), expect: groupOnly('ok', ErrorCode.NOT_ADMIN) },
  { name: 'group demote', frame: (s) => change(s, GroupChangeKind.DEMOTE, [s.peer]), expect: groupOnly('ok', ErrorCode.NOT_ADMIN) },
  { name: 'group rename', frame: (s) => ({ group_change: { chat_id: s.chatId, kind: GroupChangeKind.RENAME, users: [], name: 'renamed' } }), expect: groupOnly('ok', ErrorCode.NOT_ADMIN) },
  { name: 'group leave', frame: (s) => change(s, GroupChangeKind.LEAVE, []), expect: groupOnly('ok', 'ok') },
  {
    name: 'presence_subscribe',
    frame: (s, rel) => ({ presence_subscribe: { user_ids: [rel === 'own' ? s.peer : s.third] } }),
    expect: { own: 'ok', other1: ErrorCode.PRESENCE_NOT_ALLOWED, nonmember: ErrorCode.PRESENCE_NOT_ALLOWED, removed: ErrorCode.PRESENCE_NOT_ALLOWED, member: 'ok', admin: 'ok' },
  },
];

function change(s: Scene, kind: number, users: number[]): ClientFrameInit {
  return { group_change: { chat_id: s.chatId, kind, users, name: '' } };
}

/** How the actor's frames reach the chat service and its answers come back. */
interface ActorWire {
  readonly user: number;
  readonly frames: ServerFrame[];
  send(frame: Uint8Array): void;
  close(): void;
}

function refOf(f: ServerFrame): number {
  switch (f.body) {
    case 'sent': return f.sent.ref;
    case 'error': return f.error.ref;
    case 'history': return f.history.ref;
    case 'group_info': return f.group_info.ref;
    case 'message_info': return f.message_info.ref;
    case 'pong': return f.pong.ref;
    case 'privacy': return f.privacy.ref;
    default: return 0;
  }
}

let nextRef = 1000;

/** Send one request; its answer: a reply or error with its ref, or for presence a snapshot, else 'ok' once a barrier request is answered. */
async function ask(actor: ActorWire, frame: ClientFrameInit, presenceOf: number | null): Promise<Answer> {
  const ref = nextRef++;
  const barrier = nextRef++;
  const mark = actor.frames.length;
  actor.send(frameBatch([encodeClientFrame({ ...frame, ref } as ClientFrameInit)]));
  actor.send(frameBatch([encodeClientFrame({ ref: barrier, history: { chat_id: 'd.1.2', before_id: 0, limit: 1 } })]));
  const answer = (): Answer | null => {
    for (const f of actor.frames.slice(mark)) {
      if (f.body === 'error' && f.error.ref === ref) return f.error.code as ErrorCode;
      if (presenceOf !== null) {
        if (f.body === 'presence' && f.presence.user === presenceOf) return 'ok';
      } else if (refOf(f) === ref) {
        return 'ok';
      }
    }
    if (presenceOf === null && actor.frames.slice(mark).some((f) => refOf(f) === barrier)) return 'ok';
    return null;
  };
  await waitFor(() => answer() !== null, WAIT_MS, `an answer to ${JSON.stringify(Object.keys(frame))}`);
  return answer()!;
}

/** Build the six relations for `actor`, with B (a WebSocket client) doing the setting up. */
async function scenes(sys: RunningSystem, actor: number, b: TestClient): Promise<Record<Relation, Scene>> {
  const users = await provisionFresh(sys, 12);
  const [c1, c2, c3, c4, c5, c6, d1, d2, d3, d4, d5, d6] = users as [number, number, number, number, number, number, number, number, number, number, number, number];
  const out = {} as Record<Relation, Scene>;
  const own = await b.send(actor, text('b to a'));
  out.own = { chatId: directChatId(actor, b.userId), msgId: own.id, third: c1, outsider: d1, peer: b.userId };
  const other = await b.send(c2, text('b to c'));
  out.other1 = { chatId: other.chat_id, msgId: other.id, third: c2, outsider: d2, peer: b.userId };
  const group = async (members: number[], third: number, outsider: number): Promise<Scene> => {
    const g = await b.createGroup('authz', members);
    const m = await b.sendToChat(g.chat_id, text('in group'));
    return { chatId: g.chat_id, msgId: m.id, third, outsider, peer: b.userId };
  };
  out.nonmember = await group([c3], c3, d3);
  out.removed = await group([actor, c4], c4, d4);
  await b.changeGroup(out.removed.chatId, GroupChangeKind.REMOVE, [actor]);
  out.member = await group([actor, c5], c5, d5);
  out.admin = await group([actor, c6], c6, d6);
  await b.changeGroup(out.admin.chatId, GroupChangeKind.PROMOTE, [actor]);
  return out;
}

async function runMatrix(sys: RunningSystem, openActor: (user: number) => Promise<ActorWire>): Promise<string[]> {
  const mismatches: string[] = [];
  for (const row of MATRIX) {
    const [actorId] = await provisionFresh(sys, 1);
    const actor = await openActor(actorId!);
    const b = await connectUser(sys, undefined, { requestTimeoutMs: WAIT_MS });
    try {
      const world = await scenes(sys, actorId!, b);
      for (const rel of RELATIONS) {
        const s = world[rel];
        const presenceOf = row.name === 'presence_subscribe' ? (rel === 'own' ? s.peer : s.third) : null;
        const got = await ask(actor, row.frame(s, rel), presenceOf);
        if (got !== row.expect[rel]) mismatches.push(`${row.name} x ${rel}: expected ${row.expect[rel]}, got ${got}`);
      }
    } finally {
      actor.close();
      b.close();
    }
  }
  return mismatches;
}

describe('authorization matrix', { timeout: 120_000 }, () => {
  let sys: RunningSystem;
  before(async () => {
    sys = await startSystem({});
  });
  after(async () => {
    await sys?.stop();
  });

  it(`over the WebSocket API: ${MATRIX.length} request types x ${RELATIONS.length} relations answer as the table says`, async () => {
    const mismatches = await runMatrix(sys, async (user) => {
      const c = await connectUser(sys, user, { requestTimeoutMs: WAIT_MS });
      return { user, frames: c.frames, send: (f) => c.sendRaw(f), close: () => c.close() };
    });
    assert.deepEqual(mismatches, []);
  });

  it(`over the chat service's gRPC stream (a peer-authenticated link, no gateway): the same table`, async () => {
    let conn = 0;
    const mismatches = await runMatrix(sys, async (user) => {
      const myConn = ++conn;
      const frames: ServerFrame[] = [];
      const link = new ChatLink({
        target: sys.chatTarget, gatewayId: `authz-${myConn}`, peerKey: peerKey(sys.secret), limits: DEFAULT_LIMITS,
        sessions: () => [{ conn: myConn, user }],
        onBatch: (batch: WireChatBatch) => {
          for (const item of batch.items) {
            if (item.conns.includes(myConn) || item.users.includes(user)) frames.push(decodeServerFrame(item.frame));
          }
        },
      });
      link.start();
      await waitFor(() => link.up, WAIT_MS, 'the link up');
      await waitFor(() => frames.some((f) => f.body === 'drain_done'), WAIT_MS, 'the session known to the chat service');
      return {
        user, frames, close: () => link.close(),
        // The gRPC stream carries single frames, as a gateway forwards them.
        send: (batch) => {
          for (const f of splitBatch(batch, DEFAULT_LIMITS.batch_frames_max)) link.push({ conn: myConn, user, frame: f, recv_at_us: 0 });
        },
      };
    });
    assert.deepEqual(mismatches, []);
  });

  it('a gRPC Connect stream without a valid peer proof is refused: UNAUTHENTICATED, and a frame on it is never acted on', async () => {
    const [victim, target] = await provisionFresh(sys, 2);
    const watcher = await connectUser(sys, target, { requestTimeoutMs: WAIT_MS });
    try {
      for (const md of [new grpc.Metadata(), (() => {
        const m = new grpc.Metadata();
        m.set(PEER_AUTH_HEADER, clientProof(peerKey('another secret, not the system one, 32+ chars long'), 'intruder').proof);
        return m;
      })()]) {
        const client = new ChatServiceClient(sys.chatTarget, grpc.credentials.createInsecure()) as unknown as grpc.Client &
          { Connect: (md: grpc.Metadata) => grpc.ClientDuplexStream<object, WireChatBatch> };
        const call = client.Connect(md);
        const status = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
        call.on('error', () => {});
        const replies: WireChatBatch[] = [];
        call.on('data', (b: WireChatBatch) => replies.push(b));
        call.write({ items: [{ conn: 1, user: 0, hello: { gateway_id: 'intruder', sessions: [{ conn: 1, user: victim }] }, recv_at_us: 0 }] });
        call.write({ items: [{ conn: 1, user: victim, frame: encodeClientFrame({ ref: 1, send: { to_user: target, client_msg_id: 'forged', body: text('forged') } }), recv_at_us: 0 }] });
        const st = await status;
        assert.equal(st.code, grpc.status.UNAUTHENTICATED);
        assert.equal(replies.length, 0, 'not even a welcome');
        client.close();
      }
      await sleep(200);
      assert.equal(watcher.frames.filter((f) => f.body === 'message').length, 0, 'the forged message was never delivered');
      const history = await watcher.history(directChatId(victim!, target!)).catch((e: Error & { code?: string }) => e.code);
      assert.equal(history, NPA, 'and never stored (no such chat)');
    } finally {
      watcher.close();
    }
  });
});
