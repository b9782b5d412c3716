// The ScyllaDB store: MessageStore over CQL with cassandra-driver 4. Production
// runs it on ScyllaDB; tests run it on Apache Cassandra 5 (same protocol,
// scripts/cassandra.sh). Schema and the reasons behind it: migrations/001-initial.ts
// and docs/design/005-scylla-store.md.
//
// Envelope, per 1:1 message on the chat service's write path (one commit per tick):
//   1 point read   client_ids (the engine's idempotency lookup of a new client id)
//   3 writes       messages row, client_ids row (TTL), the recipient's user_chats inbox cells (TTL)
//   per chat per bucket, once: a chat_buckets row; per commit: one id_high_water write.
//   per commit that carries fences (multi-node chat tier): one LOCAL_QUORUM read of the touched
//   partitions' tokens, beside the membership reads, before any write (fences.ts); per chat and
//   ownership change, 1-2 range tombstones and a mark on its first load (late-rows.ts).
// Per group message: messages + client_ids + one chat_heads write per group per commit (fan-out on read).
// Per watermark flush (every 200 ms per moved member, not per ack): chat_members + user_chats.
// No read-before-write on any of it: the members of the chats this node owns are
// cached here (chat-cache.ts; one partition read on a miss).
// A commit's writes go out in one round, grouped by replica into small unlogged
// batches (sender.ts), at most requests_in_flight_max requests at once. Measured on
// Cassandra 5 on 2 shared cores (bench/scylla-store.ts): ~150-450 us of server CPU
// per message for the commit, ~1.7 ms with the engine's lookup read and watermarks
// at small ticks: the node, not this process, is what saturates.
//
// Commit writes are idempotent upserts or deletes (absolute values), all marked
// isIdempotent: the driver may retry them. Only registration, partition claims
// (fences.ts) and one-time prekey takes (scylla-keys.ts) use LWTs.
// This file: connecting, the store's reads, and the commit's steps. Its parts:
// commit-plan.ts (a CommitBatch -> the writes), sender.ts (writes grouped by
// replica into batches), chat-cache.ts (members and buckets of the chats this
// node writes), statements.ts (the CQL), routing-keys.ts (partition keys),
// registered-ids.ts, cells.ts, limits.ts, late-rows.ts, scylla-keys.ts.
import { Client, policies, types } from 'cassandra-driver';
import {
  ChatKind, clientKey, FencedError, type ChatState, type ClientKey, type CommitBatch, type MemberState, type MessageStore,
  type PartitionFence, type PendingChat, type StoredMessage, type UserRecord, type SharedChats,
} from '../store';
import { isDirectChatId } from '../../common/chat-id';
import { num, toMessage, type Row } from './cells';
import { ChatCache, type CachedChat } from './chat-cache';
import { applyCommit, chatsToLoad, forgetCommit, newCommitPlan, planCommit, type PlanContext } from './commit-plan';
import { type ScyllaConfig } from './config';
import { describeError } from './describe-error';
import { PartitionFences, type FenceGate } from './fences';
import { LateRowFence, WriteClock } from './late-rows';
import { InFlightLimiter } from './limiter';
import { SCYLLA_STORE_LIMITS } from '../../common/config-scylla';
import { RegisteredIds } from './registered-ids';
import { ScyllaKeys } from './scylla-keys';
import { bucketOfId } from './routing-keys';
import { migrate, schemaProblem, schemaState } from './schema';
import { WriteSender } from './sender';
import { consistencyLevel, requestOptions, statements, type RequestOptions, type Statements } from './statements';

/**
 * Connect, check (or migrate) the schema, and return a ready store. Fails with
 * a clear error, within connect_timeout_ms + connect_slack_ms (2 s), when no
 * contact point answers or the keyspace is missing/behind and migrate is off.
 */
export async function openScyllaStore(config: ScyllaConfig, log: (line: string) => void = () => {}): Promise<ScyllaStore> {
  const client = new Client({
    contactPoints: config.contact_points,
    localDataCenter: config.local_dc,
    policies: {
      // Token-aware first (a replica coordinates: one network hop less), then round robin over the local DC.
      loadBalancing: new policies.loadBalancing.TokenAwarePolicy(new policies.loadBalancing.DCAwareRoundRobinPolicy(config.local_dc)),
      // A restarted node is back in use within ~10 s instead of the default's 10 min ceiling.
      reconnection: new policies.reconnection.ExponentialReconnectionPolicy(500, 10_000, false),
    },
    queryOptions: { consistency: consistencyLevel(config.consistency), serialConsistency: types.consistencies.localSerial, prepare: true },
    socketOptions: { connectTimeout: config.connect_timeout_ms, readTimeout: config.request_timeout_ms },
    protocolOptions: { maxSchemaAgreementWaitSeconds: 10 },
  });
  const where = config.contact_points.join(', ');
  const deadlineMs = config.connect_timeout_ms + SCYLLA_STORE_LIMITS.connect_slack_ms;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.connect(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${deadlineMs} ms`)), deadlineMs);
      }),
    ]);
  } catch (err) {
    void client.shutdown().catch(() => {});
    throw new Error(`store(scylla): cannot connect to ${where} (local DC ${config.local_dc}): ${describeError(err)}`);
  } finally {
    clearTimeout(timer);
  }
  try {
    let state = await schemaState(client, config.keyspace);
    let problem = schemaProblem(state, config.keyspace);
    if (problem && config.migrate) {
      const r = await migrate(client, config, (line) => log(`migrate: ${line}`));
      for (const w of r.warnings) log(`migrate: warning: ${w}`);
      state = await schemaState(client, config.keyspace);
      problem = schemaProblem(state, config.keyspace);
    }
    if (problem) throw new Error(problem);
    const bucketMs = state.bucketMs!;
    if (config.bucket_ms !== null && config.bucket_ms !== bucketMs) {
      throw new Error(`keyspace "${config.keyspace}" was created with bucket_ms=${bucketMs}; WA_SCYLLA_BUCKET_MS=${config.bucket_ms} differs (a keyspace's buckets cannot change)`);
    }
    log(`scylla store: ${where} keyspace=${config.keyspace} schema=v${state.version} consistency=${config.consistency} bucket_ms=${bucketMs}`);
    return new ScyllaStore(client, config, bucketMs);
  } catch (err) {
    await client.shutdown().catch(() => {});
    throw new Error(`store(scylla): ${describeError(err)}`);
  }
}

export class ScyllaStore implements MessageStore {
  readonly engine = 'scylla';
  readonly keys: ScyllaKeys;
  /** docs/design/005 "Partition fencing": writes issued within fence_check_valid_ms of a check, plus their 2 s timeout. */
  readonly takeoverQuietMs = SCYLLA_STORE_LIMITS.fence_check_valid_ms + 2000;
  private readonly limiter: InFlightLimiter;
  private readonly q: Statements;
  private readonly write: RequestOptions['write'];
  private readonly read: RequestOptions['read'];
  private readonly lwt: RequestOptions['lwt'];
  private readonly cache = new ChatCache();
  private readonly sender: WriteSender;
  private readonly planContext: PlanContext;
  private readonly registeredIds: RegisteredIds;
  private readonly fences: PartitionFences;
  private readonly clock = new WriteClock();
  private readonly lateRows: LateRowFence;
  /** Calls and time per operation, kept only when slow_call_ms > 0 (printed by close()). */
  private readonly callStats = new Map<string, { calls: number; ms: number; maxMs: number }>();
  private closed = false;

  constructor(
    private readonly client: Client,
    readonly config: ScyllaConfig,
    /** Width of a message partition's time bucket, fixed per keyspace. */
    readonly bucketMs: number,
  ) {
    this.limiter = new InFlightLimiter(config.requests_in_flight_max);
    this.q = statements(config.keyspace);
    const options = requestOptions(config.consistency);
    this.write = options.write;
    this.read = options.read;
    this.lwt = options.lwt;
    this.sender = new WriteSender(client, config, this.limiter, this.write);
    this.planContext = { q: this.q, cache: this.cache, bucketMs, config };
    this.registeredIds = new RegisteredIds(client, this.q, options);
    this.fences = new PartitionFences(client, this.q);
    this.lateRows = new LateRowFence(client, this.q, this.write, this.clock, bucketMs);
    this.keys = new ScyllaKeys(client, config.keyspace, options);
  }

  /** The bucket of a message id: milliseconds since the id epoch / bucket width. */
  bucketOf(id: number): number {
    return bucketOfId(id, this.bucketMs);
  }

  // ---------------------------------------------------------------- users

  async registerUser(phone: string, displayName: string, nowMs: number): Promise<{ id: number; created: boolean }> {
    return this.guard('registerUser', async () => {
      const existing = (await this.client.execute(this.q.phoneGet, [phone], this.read)).first();
      if (existing) return { id: num(existing.id), created: false };
      // The user row first, then the phone claim: a lost claim leaves an orphan row to delete, never a phone
      // pointing at no user.
      const id = await this.registeredIds.next();
      await this.client.execute(this.q.userRegister, [id, phone, displayName, nowMs], this.write);
      const claim = (await this.client.execute(this.q.phoneClaim, [phone, id], this.lwt)).first();
      if (claim['[applied]']) return { id, created: true };
      await this.client.execute(this.q.userDelete, [id], this.write);
      return { id: num(claim.id), created: false };
    });
  }

  async provisionUsers(first: number, count: number, nowMs: number): Promise<number> {
    return this.guard('provisionUsers', async () => {
      let created = 0;
      const chunk = SCYLLA_STORE_LIMITS.provision_chunk_users;
      for (let start = 0; start < count; start += chunk) {
        const ids = Array.from({ length: Math.min(chunk, count - start) }, (_, i) => first + start + i);
        const existing = await this.existing(ids);
        const missing = ids.filter((id) => !existing.has(id));
        await this.limiter.forEach(missing, (id) => this.client.execute(this.q.userEnsure, [id, nowMs], this.write));
        created += missing.length;
      }
      return created;
    });
  }

  async existingUsers(ids: readonly number[]): Promise<Set<number>> {
    return this.guard('existingUsers', () => this.existing([...new Set(ids)]));
  }

  private async existing(ids: readonly number[]): Promise<Set<number>> {
    const found = new Set<number>();
    await this.limiter.forEach(ids, async (id) => {
      const row = (await this.client.execute(this.q.userExists, [id], this.read)).first();
      if (row && row.created_ms !== null) found.add(id);
    });
    return found;
  }

  async ensureUser(id: number, nowMs: number): Promise<void> {
    await this.guard('ensureUser', () => this.client.execute(this.q.userEnsure, [id, nowMs], this.write));
  }

  async getUser(id: number): Promise<UserRecord | null> {
    return this.guard('getUser', async () => {
      const row = (await this.client.execute(this.q.userGet, [id], this.read)).first();
      if (!row || row.created_ms === null) return null;
      return {
        id, phone: row.phone ?? '', display_name: row.display_name ?? '', last_seen_ms: num(row.last_seen_ms),
        last_seen_privacy: row.last_seen_privacy === null || row.last_seen_privacy === undefined ? 0 : Number(row.last_seen_privacy),
      };
    });
  }

  async setLastSeenPrivacy(user: number, value: number): Promise<void> {
    await this.guard('setLastSeenPrivacy', () => this.client.execute(this.q.userPrivacy, [value, user], this.write));
  }

  /** Both users' chat lists (user_chats, one partition each), intersected. */
  async sharedChatKinds(a: number, b: number): Promise<SharedChats> {
    return this.guard('sharedChatKinds', async () => {
      const [ra, rb] = await Promise.all([this.allRows(this.q.userChatsGet, [a]), this.allRows(this.q.userChatsGet, [b])]);
      const ofB = new Set(rb.map((r) => r.chat_id as string));
      const shared = { direct: false, group: false };
      for (const r of ra) {
        if (!ofB.has(r.chat_id as string)) continue;
        if (r.kind === ChatKind.Group) shared.group = true;
        else shared.direct = true;
      }
      return shared;
    });
  }

  // ---------------------------------------------------------------- chats

  async loadChat(chatId: string, fence?: PartitionFence): Promise<ChatState | null> {
    return this.guard('loadChat', async () => {
      const [chatRs, { members, fencedToken }, head] = await Promise.all([
        this.client.execute(this.q.chatGet, [chatId], this.read),
        this.readMembers(chatId),
        this.headAt(chatId, Number.MAX_SAFE_INTEGER),
      ]);
      const row = chatRs.first();
      // First load under a newer token: a former owner's late rows above this head become harmless (late-rows.ts).
      // A chat not created yet can have them only if its id is not minted fresh (1:1 ids are derived).
      if (fence && fencedToken < fence.token && (row || isDirectChatId(chatId))) await this.lateRows.fence(chatId, head?.id ?? 0, fence.token);
      if (!row) return null;
      const kind = row.kind as number;
      this.cache.rememberMembers(chatId, { kind, members: new Map([...members].map(([u, m]) => [u, { ...m }])) });
      return {
        chat_id: chatId, kind, last_id: head?.id ?? 0, last_seq: head?.seq ?? 0, members,
        name: row.name ?? '', created_by: num(row.created_by),
      };
    });
  }

  /** The members, and the token the chat was last loaded under by an owner (0: never; migration 4). */
  private async readMembers(chatId: string): Promise<{ members: Map<number, MemberState>; fencedToken: number }> {
    const members = new Map<number, MemberState>();
    let fencedToken = 0;
    for (const r of await this.allRows(this.q.membersGet, [chatId])) {
      fencedToken = num(r.fenced_token);
      if (r.user_id === null) continue; // a partition with only its static cell: the mark of a chat without members
      const user = num(r.user_id);
      members.set(user, {
        user, delivered_id: num(r.delivered_id), delivered_seq: num(r.delivered_seq), read_id: num(r.read_id),
        joined_seq: num(r.joined_seq), admin: r.admin === true,
      });
    }
    return { members, fencedToken };
  }

  /** Membership of a chat as persisted, from the cache or (on a miss) the store; null if the chat does not exist. */
  private async cachedChat(chatId: string): Promise<CachedChat | null> {
    const hit = this.cache.members.get(chatId);
    if (hit) return hit;
    const [chatRs, { members }] = await Promise.all([this.client.execute(this.q.chatGet, [chatId], this.read), this.readMembers(chatId)]);
    const row = chatRs.first();
    if (!row) return null;
    const entry = { kind: row.kind as number, members };
    this.cache.rememberMembers(chatId, entry);
    return entry;
  }

  async findByClientIds(keys: readonly ClientKey[]): Promise<Map<string, StoredMessage>> {
    return this.guard('findByClientIds', async () => {
      const found = new Map<string, StoredMessage>();
      if (keys.length === 0) return found;
      const hits: { key: ClientKey; chatId: string; id: number }[] = [];
      await this.limiter.forEach(keys, async (key) => {
        const row = (await this.client.execute(this.q.clientIdGet, [key.sender, key.client_msg_id], this.read)).first();
        if (row) hits.push({ key, chatId: row.chat_id as string, id: num(row.id) });
      });
      // Second round only for retries (rare): the message itself, from its (chat, bucket) partition.
      await this.limiter.forEach(hits, async (h) => {
        const row = (await this.client.execute(this.q.messageGet, [h.chatId, this.bucketOf(h.id), h.id], this.read)).first();
        if (row) found.set(clientKey(h.key.sender, h.key.client_msg_id), toMessage(h.chatId, row));
      });
      return found;
    });
  }

  // ---------------------------------------------------------------- commit

  async commit(batch: CommitBatch): Promise<void> {
    await this.guard('commit', () => this.commitBatch(batch));
  }

  private async commitBatch(batch: CommitBatch): Promise<void> {
    const plan = newCommitPlan(batch);
    // A fenced commit's writes carry one timestamp taken before its check: a late one loses to a newer owner (late-rows.ts).
    const writtenAt = batch.fences && batch.fences.length > 0 ? this.clock.next() : undefined;
    // 0. The fence check (one LOCAL_QUORUM read of the touched partitions' tokens), beside step 1's reads and
    // before any write: a FencedError here means nothing of the batch was sent. fences.ts says what window remains.
    const fenced = batch.fences && batch.fences.length > 0 ? this.fences.check(batch.fences) : null;
    fenced?.catch(() => {}); // awaited below; step 1 failing first must not leave it unhandled
    // 1. Membership of every existing chat whose members this commit touches (a read only on a cache miss).
    await this.limiter.forEach(chatsToLoad(batch, plan, this.cache), async (chatId) => {
      const c = await this.cachedChat(chatId);
      if (!c) throw new Error(`chat ${chatId} does not exist`);
    });
    const gate: FenceGate | null = fenced ? await fenced : null;
    // 2. Fold member changes (in order) and watermarks into one plan per (chat, member); 3. list the writes.
    planCommit(batch, plan, this.planContext);
    // 4. One round of concurrent requests, at most requests_in_flight_max at once (each only while the fence
    // check is fresh: the gate re-checks first past fence_check_valid_ms).
    try {
      await this.sender.send(plan.writes, gate, writtenAt);
    } catch (err) {
      // Some writes may have landed: forget what this commit touched, so it is read back, not guessed.
      forgetCommit(plan, this.cache);
      if (err instanceof FencedError) throw err; // the re-check ran before any request was sent
      throw new Error(`commit of ${plan.writes.length} writes (${batch.messages.length} messages) failed: ${describeError(err)}`);
    }
    // 5. Only now does the cache move.
    applyCommit(plan, this.cache);
  }

  // ---------------------------------------------------------------- reading a chat

  async history(chatId: string, beforeId: number, limit: number): Promise<StoredMessage[]> {
    return this.guard('history', async () => {
      const below = beforeId > 0 ? beforeId : Number.MAX_SAFE_INTEGER;
      const out: StoredMessage[] = [];
      if (limit <= 0 || below <= 1) return out;
      await this.walkBuckets(chatId, this.bucketOf(below - 1), 'desc', async (bucket) => {
        const rs = await this.client.execute(this.q.messagesBefore, [chatId, bucket, below, limit - out.length], this.read);
        for (const row of rs.rows) out.push(toMessage(chatId, row));
        return out.length < limit;
      });
      return out;
    });
  }

  async messagesAfter(chatId: string, afterId: number, limit: number): Promise<StoredMessage[]> {
    return this.guard('messagesAfter', async () => {
      const above = Math.max(0, afterId);
      const out: StoredMessage[] = [];
      if (limit <= 0) return out;
      await this.walkBuckets(chatId, this.bucketOf(above + 1), 'asc', async (bucket) => {
        const rs = await this.client.execute(this.q.messagesAfter, [chatId, bucket, above, limit - out.length], this.read);
        for (const row of rs.rows) out.push(toMessage(chatId, row));
        return out.length < limit;
      });
      return out;
    });
  }

  async headAtOrBelow(chatId: string, upToId: number): Promise<{ id: number; seq: number } | null> {
    return this.guard('headAtOrBelow', () => this.headAt(chatId, upToId));
  }

  private async headAt(chatId: string, upToId: number): Promise<{ id: number; seq: number } | null> {
    if (upToId <= 0) return null;
    let head: { id: number; seq: number } | null = null;
    await this.walkBuckets(chatId, this.bucketOf(upToId), 'desc', async (bucket) => {
      const row = (await this.client.execute(this.q.headAtOrBelow, [chatId, bucket, upToId], this.read)).first();
      if (row) head = { id: num(row.id), seq: num(row.seq) };
      return head === null;
    });
    return head;
  }

  /**
   * Visit the chat's non-empty buckets from `from` (inclusive) in `dir` order
   * until `visit` returns false; reads the bucket index buckets_per_read at a time.
   */
  private async walkBuckets(chatId: string, from: number, dir: 'asc' | 'desc', visit: (bucket: number) => Promise<boolean>): Promise<void> {
    const perRead = SCYLLA_STORE_LIMITS.buckets_per_read;
    let cursor = from;
    for (;;) {
      const rs = await this.client.execute(dir === 'desc' ? this.q.bucketsDesc : this.q.bucketsAsc, [chatId, cursor, perRead], this.read);
      for (const row of rs.rows) {
        if (!(await visit(num(row.bucket)))) return;
      }
      if (rs.rowLength < perRead) return;
      const last = num(rs.rows[rs.rowLength - 1]!.bucket);
      cursor = dir === 'desc' ? last - 1 : last + 1;
    }
  }

  // ---------------------------------------------------------------- offline queues

  /**
   * Chats where `user` has messages above their delivered watermark: one read of
   * the user's user_chats partition; 1:1 chats carry their pending head in it
   * (fan-out on write, one cell per message), groups are checked against
   * chat_heads (fan-out on read: one point read per group of the user).
   */
  async pendingChats(user: number): Promise<PendingChat[]> {
    return this.guard('pendingChats', async () => {
      const out: PendingChat[] = [];
      const groups: { chatId: string; deliveredId: number; deliveredSeq: number }[] = [];
      for (const r of await this.allRows(this.q.userChatsGet, [user])) {
        const chatId = r.chat_id as string;
        const deliveredId = num(r.delivered_id);
        const deliveredSeq = num(r.delivered_seq);
        if (r.kind === ChatKind.Group) {
          groups.push({ chatId, deliveredId, deliveredSeq });
        } else if (r.last_seq !== null && num(r.last_seq) > deliveredSeq) {
          out.push({ chat_id: chatId, delivered_id: deliveredId, pending: num(r.last_seq) - deliveredSeq });
        }
      }
      await this.limiter.forEach(groups, async (g) => {
        const row = (await this.client.execute(this.q.headGet, [g.chatId], this.read)).first();
        const seq = row ? num(row.last_seq) : 0;
        if (seq > g.deliveredSeq) out.push({ chat_id: g.chatId, delivered_id: g.deliveredId, pending: seq - g.deliveredSeq });
      });
      return out;
    });
  }

  /**
   * The highest message id stored, from id_high_water: at most one row per id lane (1,024), each holding the
   * highest id any commit whose newest message fell in that lane wrote (USING TIMESTAMP id: the highest wins
   * whoever wrote last). The max over the rows is the max over every commit, whichever lane or node wrote it.
   * Cost: one range scan of <= 1,024 tiny rows (two pages of page_rows), ~tens of ms on the 3-node cluster
   * here; called at start and when a node takes partitions over, never per message.
   */
  async maxMessageId(): Promise<number> {
    return this.guard('maxMessageId', async () => {
      let max = 0;
      for (const r of await this.allRows(this.q.highWaterAll, [])) max = Math.max(max, num(r.max_id));
      return max;
    });
  }

  /** LWTs (LOCAL_SERIAL, one Paxos round per 128 partitions): fences.ts. */
  async claimPartitions(partitions: readonly number[], token: number): Promise<number[]> {
    return this.guard('claimPartitions', () => this.fences.claim(partitions, token));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.callStats.size > 0) {
      const parts = [...this.callStats].map(([op, st]) => `${op} ${st.calls} calls avg ${(st.ms / st.calls).toFixed(1)} ms max ${st.maxMs.toFixed(0)} ms`);
      console.warn(`store(scylla) calls: ${parts.join('; ')}`);
    }
    await this.client.shutdown();
  }

  // ---------------------------------------------------------------- helpers

  /** Every row of a query, page by page. */
  private async allRows(query: string, params: unknown[]): Promise<Row[]> {
    const rows: Row[] = [];
    let pageState: string | undefined;
    do {
      const rs = await this.client.execute(query, params, { ...this.read, fetchSize: SCYLLA_STORE_LIMITS.page_rows, pageState });
      for (const r of rs.rows) rows.push(r);
      pageState = rs.pageState ?? undefined;
    } while (pageState);
    return rows;
  }

  /** Run a store operation; any failure becomes one clear `store(scylla) <op>: ...` error. */
  private async guard<T>(op: string, fn: () => Promise<T>): Promise<T> {
    if (this.closed) throw new Error(`store(scylla) ${op}: the store is closed`);
    const slowMs = this.config.slow_call_ms;
    const t0 = slowMs > 0 ? performance.now() : 0;
    try {
      return await fn();
    } catch (err) {
      if (err instanceof FencedError) throw err; // a value the chat node acts on, not a store failure
      throw new Error(`store(scylla) ${op}: ${describeError(err)}`, { cause: err });
    } finally {
      if (slowMs > 0) {
        const ms = performance.now() - t0;
        const st = this.callStats.get(op) ?? { calls: 0, ms: 0, maxMs: 0 };
        st.calls++;
        st.ms += ms;
        st.maxMs = Math.max(st.maxMs, ms);
        this.callStats.set(op, st);
        if (ms >= slowMs) console.warn(`store(scylla) slow ${op}: ${ms.toFixed(1)} ms (${this.limiter.inFlight} in flight, ${this.limiter.queued} queued)`);
      }
    }
  }
}
