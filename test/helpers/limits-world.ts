// Shared by the two limits-and-bad-input suites: the small limits they run a
// real system with, and the helpers that send raw frames, read errors and
// check that bystanders are still served.
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { ServerError } from '../../loadgen/client/chat-client';
import { encodeClientFrame, ReceiptKind, type ClientFrameInit, type ErrorBody, type MessageBody } from '../../server/common/protocol';
import { startSystem, type RunningSystem } from '../../deploy/local-system';
import { connectUser, text, waitFor, type TestClient } from './system';

export const LIMITS = {
  text_bytes_max: 1000,
  frame_bytes_max: 4096,
  user_frames_per_second_max: 20,
  user_frames_burst_max: 20,
  presence_watch_max: 3,
  history_page_max: 5,
  offline_queue_messages_max: 3,
  batch_frames_max: 4,
  client_msg_id_bytes_max: 16,
};
export const ENV: Record<string, string> = Object.fromEntries(
  Object.entries(LIMITS).map(([k, v]) => [`WA_${k.toUpperCase()}`, String(v)]),
);

export const TEST_TIMEOUT_MS = 20_000;
export const WAIT_MS = 5_000;

// ---------------------------------------------------------------- helpers

export function isRefusedWith(code: string): (err: unknown) => boolean {
  return (err: unknown) => {
    assert.ok(err instanceof ServerError, `expected a ServerError ${code}, got ${String(err)}`);
    assert.equal(err.code, code);
    return true;
  };
}

export function errorsOf(c: TestClient, since = 0): ErrorBody[] {
  return c.frames.slice(since).flatMap((f) => (f.body === 'error' ? [f.error] : []));
}

export function messagesOf(c: TestClient, fromUser?: number): MessageBody[] {
  return c.frames.flatMap((f) => (f.body === 'message' && (fromUser === undefined || f.message.from_user === fromUser) ? [f.message] : []));
}

/** Waits for the first Error frame received after frame index `since`. */
export async function nextError(c: TestClient, since: number, what: string): Promise<ErrorBody> {
  await waitFor(() => errorsOf(c, since).length > 0, WAIT_MS, what);
  return errorsOf(c, since)[0]!;
}

export function sendFrame(ref: number, to: number, cmid: string, body: Uint8Array): Uint8Array {
  return encodeClientFrame({ ref, send: { to_user: to, client_msg_id: cmid, body } });
}

export function rawFrame(f: ClientFrameInit): Uint8Array {
  return encodeClientFrame(f);
}

/** Sends and waits until the recipient has received and acknowledged it (so its unacked count is back to 0). */
export async function sendDelivered(from: TestClient, to: TestClient, body: string): Promise<number> {
  const sent = await from.send(to.userId, text(body));
  await waitFor(() => messagesOf(to).some((m) => m.id === sent.id), WAIT_MS, `delivery of "${body}"`);
  await waitFor(
    () => from.frames.some((f) => f.body === 'receipt' && f.receipt.user === to.userId && f.receipt.kind === ReceiptKind.DELIVERED
      && f.receipt.chat_id === sent.chat_id && f.receipt.up_to_id >= sent.id),
    WAIT_MS, `delivered receipt for "${body}"`,
  );
  return sent.id;
}

/** Every message of a chat, newest first, following the history cursor. */
export async function fullHistory(c: TestClient, chatId: string): Promise<MessageBody[]> {
  const all: MessageBody[] = [];
  let before = 0;
  for (let pages = 0; pages < 100; pages++) {
    const page = await c.history(chatId, before, 1000);
    all.push(...page.messages);
    if (page.next_before_id === 0) return all;
    before = page.next_before_id;
  }
  throw new Error('history did not end');
}

/** HTTP status of a WebSocket upgrade attempt with the `ws` package (any headers, including none). */
export async function upgradeStatus(url: string, headers: Record<string, string>): Promise<number> {
  const ws = new WebSocket(url, { headers, perMessageDeflate: false });
  try {
    return await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no upgrade answer')), WAIT_MS);
      ws.once('unexpected-response', (_req, res) => {
        clearTimeout(timer);
        resolve(res.statusCode ?? 0);
      });
      ws.once('open', () => {
        clearTimeout(timer);
        resolve(101);
      });
      ws.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  } finally {
    ws.terminate();
  }
}


export async function postRegister(sys: RunningSystem, body: string): Promise<{ status: number; json: Record<string, unknown> | null; raw: string }> {
  const res = await fetch(`${sys.gatewayHttp(0)}/v1/register`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(WAIT_MS),
  });
  const raw = await res.text();
  let json: Record<string, unknown> | null = null;
  try {
    json = JSON.parse(raw) as Record<string, unknown>;
  } catch {
    // not JSON (413 answers in plain text)
  }
  return { status: res.status, json, raw };
}

// ---------------------------------------------------------------- the system


/** One system with the small limits, two bystanders connected, and the clients a suite opens (closed after it). */
export interface LimitsWorld {
  readonly sys: RunningSystem;
  P: TestClient;
  Q: TestClient;
  client(userId?: number, opts?: Parameters<typeof connectUser>[2]): Promise<TestClient>;
  /** The server keeps serving others: the bystander pair still exchanges messages both ways. */
  assertOthersStillServed(): Promise<void>;
}

/** Start the world before the suite's tests and stop it after them (call inside a describe). */
export function limitsWorld(): LimitsWorld {
  const clients: TestClient[] = [];
  let controlN = 0;
  const world = {
    sys: undefined as unknown as RunningSystem,
    P: undefined as unknown as TestClient,
    Q: undefined as unknown as TestClient,
    async client(userId?: number, opts: Parameters<typeof connectUser>[2] = {}): Promise<TestClient> {
      const c = await connectUser(world.sys, userId, { requestTimeoutMs: WAIT_MS, ...opts });
      clients.push(c);
      return c;
    },
    async assertOthersStillServed(): Promise<void> {
      assert.equal(world.P.closed, false, 'bystander P is still connected');
      assert.equal(world.Q.closed, false, 'bystander Q is still connected');
      const n = ++controlN;
      await sendDelivered(world.P, world.Q, `control ${n} P->Q`);
      await sendDelivered(world.Q, world.P, `control ${n} Q->P`);
      const health = await world.sys.health(0);
      assert.equal(health.chat_link, 'up');
    },
  };
  before(async () => {
    world.sys = await startSystem({ env: ENV });
    world.P = await world.client();
    world.Q = await world.client();
    await world.assertOthersStillServed();
  });
  after(async () => {
    for (const c of clients) c.close();
    if (world.sys) await world.sys.stop();
  });
  return world;
}
