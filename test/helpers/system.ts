// Test helpers: a real system (chat service + gateway processes on loopback)
// and real clients with minted tokens.
import { clientProof, PEER_AUTH_HEADER, peerKey } from '../../server/common/peer-auth';
import { ChatClient, type ChatClientOptions } from '../../loadgen/client/chat-client';
import type { ServerFrame } from '../../server/common/protocol';
import { PROVISIONED_USER_ID_MIN } from '../../server/common/ids';
import { mintToken } from '../../server/common/token';
import { startSystem, type RunningSystem, type SystemOptions } from '../../deploy/local-system';
import * as grpc from '@grpc/grpc-js';
import { ChatServiceClient } from '../../server/common/grpc-defs';
import { directChatId, partitionOf } from '../../server/common/chat-id';
import { partitionsOf } from '../../server/common/partitions';

export { waitFor } from '../../deploy/local-system';
import { waitFor as waitForCondition } from '../../deploy/local-system';

let nextUser = PROVISIONED_USER_ID_MIN + (Date.now() % 1_000_000) * 1000;

/** A fresh load-test user id (unique within this test process). */
export function newUserId(): number {
  return nextUser++;
}

export async function withSystem<T>(opts: SystemOptions, fn: (sys: RunningSystem) => Promise<T>): Promise<T> {
  const sys = await startSystem(opts);
  try {
    return await fn(sys);
  } finally {
    await sys.stop();
  }
}

export interface TestClient extends ChatClient {
  userId: number;
  frames: ServerFrame[];
}

/** Connect as `userId` (a new user when omitted); records every frame it receives. */
export async function connectUser(
  sys: RunningSystem,
  userId = newUserId(),
  opts: Partial<ChatClientOptions> = {},
  gateway = 0,
): Promise<TestClient> {
  const client = (await ChatClient.connect({
    url: `ws://127.0.0.1:${sys.gatewayPorts[gateway]}/v1/ws`,
    token: mintToken(sys.secret, userId, 3600),
    kind: 'lean',
    ...opts,
  })) as TestClient;
  client.userId = userId;
  client.frames = [];
  client.onFrame = (f) => client.frames.push(f);
  return client;
}

/**
 * Connect and wait for DrainDone: the chat service has processed the connect
 * (the user exists, its offline queue is empty, live delivery has started).
 * Use it before another gateway's client messages this user.
 */
export async function connectReady(
  sys: RunningSystem,
  userId = newUserId(),
  opts: Partial<ChatClientOptions> = {},
  gateway = 0,
): Promise<TestClient> {
  const client = await connectUser(sys, userId, opts, gateway);
  await waitForCondition(() => client.frames.some((f) => f.body === 'drain_done'), 15_000, `user ${userId} ready`);
  return client;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export function text(s: string): Uint8Array {
  return Buffer.from(s);
}

export function bodyText(b: Uint8Array): string {
  return Buffer.from(b).toString();
}

/** Bulk-create load-test users through a chat service (the single-process system's or a topology's: its chatTarget and secret). */
export async function provisionUsers(sys: Pick<RunningSystem, 'chatTarget' | 'secret'>, first: number, count: number): Promise<void> {
  const client = new ChatServiceClient(sys.chatTarget, grpc.credentials.createInsecure()) as unknown as {
    ProvisionUsers: (req: object, md: grpc.Metadata, cb: (err: Error | null, res: { created: number }) => void) => void;
    close(): void;
  };
  const md = new grpc.Metadata();
  md.set(PEER_AUTH_HEADER, clientProof(peerKey(sys.secret), 'test').proof);
  try {
    await new Promise<void>((resolve, reject) => client.ProvisionUsers({ first_user: first, count }, md, (err) => (err ? reject(err) : resolve())));
  } finally {
    client.close();
  }
}

/** `count` fresh user ids, provisioned. */
export async function provisionFresh(sys: RunningSystem, count: number): Promise<number[]> {
  const ids = Array.from({ length: count }, () => newUserId());
  await provisionUsers(sys, ids[0]!, count);
  return ids;
}

/**
 * Make `userId` a contact of `c` for presence (which is allowed only between users who share a chat): the user is
 * provisioned if new, and `c` sends it one 1:1 message.
 */
export async function shareChat(sys: RunningSystem, c: ChatClient, userId: number): Promise<void> {
  await provisionUsers(sys, userId, 1);
  await c.send(userId, text('hello, contact'));
}

/** A user whose 1:1 chat with `other` lives on chat node `node` (among `nodes`: rendezvous over their names). */
export function userWithChatOn(other: number, node: string, nodes: string[]): number {
  const owned = new Set(partitionsOf(node, nodes));
  for (let i = 0; i < 10_000; i++) {
    const u = newUserId();
    if (owned.has(partitionOf(directChatId(u, other)))) return u;
  }
  throw new Error('no such user in 10,000 tries');
}
