// A 3-member etcd (deploy/services/etcd.ts: startEtcdCluster) under the cluster code: one member
// killed with kill -9 (the leader, the worst case: an election) costs no node its lease and moves
// no partition; a second one killed (quorum lost) stops every node at its lease deadline; both
// restarted, everything is served again; the leader frozen (SIGSTOP) for a while costs no lease either.
// Then the topology: the etcd leader killed under traffic,
// messages keep flowing and the gateways keep routing every partition.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Etcd3 } from 'etcd3';
import { PARTITIONS, partitionsOf } from '../server/common/partitions';
import { checkEtcd, etcdClient } from '../server/cluster/etcd';
import { startEtcdCluster, type EtcdCluster } from '../deploy/services/etcd';
import { startTopology } from '../deploy/topology';
import { ChatClient } from '../loadgen/client/chat-client';
import type { MessageBody } from '../server/common/protocol';
import { mintToken } from '../server/common/token';
import { startNode, type Node } from './helpers/ownership-node';
import { newUserId, text, waitFor } from './helpers/system';

const LEASE_S = 2;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sorted = (n: Node) => [...n.servedFrom.keys()].sort((a, b) => a - b).join();

/** The index of the member that leads (asked of each live member alone). */
async function leaderIndex(cluster: EtcdCluster): Promise<number> {
  const ids: string[] = [];
  let leader = '';
  for (const url of cluster.endpointList) {
    const c = new Etcd3({ hosts: url });
    try {
      const s = await c.maintenance.status();
      ids.push(String(s.header.member_id));
      leader = String(s.leader);
    } finally {
      c.close();
    }
  }
  const i = ids.indexOf(leader);
  assert.ok(i >= 0, `a leader among ${ids} (${leader})`);
  return i;
}

/** Wait until no node has lost a lease for `quietMs` (bounded by `maxMs`). */
async function untilNoLossFor(nodes: Node[], quietMs: number, maxMs: number): Promise<void> {
  const count = () => nodes.map((n) => n.losses.length).join();
  let last = count();
  let quietSince = Date.now();
  for (const until = Date.now() + maxMs; Date.now() - quietSince < quietMs;) {
    if (Date.now() > until) throw new Error(`leases still being lost after ${maxMs} ms: ${JSON.stringify(nodes.map((n) => n.losses))}`);
    await sleep(100);
    const now = count();
    if (now !== last) {
      last = now;
      quietSince = Date.now();
    }
  }
}

describe('a 3-member etcd under three ownership nodes', () => {
  let cluster: EtcdCluster;
  before(async () => {
    cluster = await startEtcdCluster({ members: 3 });
  });
  after(async () => {
    await cluster?.stop();
  });

  test('one member killed: no lease lost, no partition moves; two killed: every node stops at its deadline; both back: everything served again', async () => {
    const names = ['n-1', 'n-2', 'n-3'];
    const nodes: Node[] = [];
    try {
      for (const n of names) nodes.push(await startNode(cluster.endpointList, n, LEASE_S));
      const settled = () => nodes.every((n) => sorted(n) === partitionsOf(n.name, names).join());
      await waitFor(settled, 15_000, 'three nodes settled');
      const before = nodes.map(sorted);

      // kill -9 the leader: the other two elect a new one; the nodes' keepalives, watches and calls move over.
      const first = await leaderIndex(cluster);
      const killedAt = Date.now();
      await cluster.procs[first]!.kill();
      const checker = etcdClient(cluster.endpointList);
      for (let i = 0; i < 6; i++) await checkEtcd(checker, cluster.endpointList, 3000); // whichever host the client picks
      checker.close();
      while (Date.now() - killedAt < 4000) {
        assert.deepEqual(nodes.map((n) => n.losses.length), [0, 0, 0], `no lease lost: ${JSON.stringify(nodes.map((n) => n.losses))}`);
        assert.deepEqual(nodes.map(sorted), before, 'the partition sets are unchanged');
        await sleep(100);
      }
      const keepalives = nodes.map((n) => n.member.keepalives);
      await sleep(700);
      for (const [i, n] of nodes.entries()) assert.ok(n.member.keepalives > keepalives[i]!, `${n.name} keeps its lease alive on the survivors`);

      // A second member killed: no quorum; every node must stop serving by its deadline (lease + 1 s at most).
      const second = (first + 1) % 3;
      const quorumLostAt = Date.now();
      await cluster.procs[second]!.kill();
      await waitFor(() => nodes.every((n) => n.servedFrom.size === 0), (LEASE_S + 1) * 1000, 'every node stops serving without quorum');
      const stoppedMs = Date.now() - quorumLostAt;
      for (const n of nodes) assert.ok(n.losses.length > 0 && n.losses[0]!.at >= quorumLostAt, `${n.name} lost its lease after the quorum loss`);

      // Both back (same ports and data): the nodes rejoin and everything is served again.
      const restartAt = Date.now();
      await Promise.all([cluster.restart(first), cluster.restart(second)]);
      const healthyMs = Date.now() - restartAt;
      await waitFor(() => settled() && nodes.reduce((s, n) => s + n.servedFrom.size, 0) === PARTITIONS, 15_000, 'everything served again');
      const servedMs = Date.now() - restartAt;
      // The freeze starts from a stable state: no lease lost for a lease period + 1 s, everything served. Seen once
      // (a fresh clone's make test, 2026-12-06): a node lost a lease 2.6 s after its quorum-loss one, while the
      // restarted members were still settling, and that landed in the freeze's window below.
      await untilNoLossFor(nodes, (LEASE_S + 1) * 1000, 15_000);
      await waitFor(() => settled() && nodes.reduce((s, n) => s + n.servedFrom.size, 0) === PARTITIONS, 15_000, 'everything served before the freeze');

      // The leader frozen (SIGSTOP) for 2.5 s: its keepalive streams stall, the nodes move them to the others.
      const lossesBefore = nodes.map((n) => n.losses.length);
      const settledSets = nodes.map(sorted);
      const frozen = await leaderIndex(cluster);
      const pausedAt = Date.now();
      cluster.procs[frozen]!.pause();
      try {
        while (Date.now() - pausedAt < 2500) {
          assert.deepEqual(nodes.map((n) => n.losses.length), lossesBefore, `no lease lost while the leader is frozen: ${JSON.stringify(nodes.map((n) => n.losses))}`);
          assert.deepEqual(nodes.map(sorted), settledSets, 'the partition sets are unchanged');
          await sleep(100);
        }
      } finally {
        cluster.procs[frozen]!.resume();
      }
      console.log(`# 3-member etcd: leader killed, 0 leases lost; quorum lost -> every node stopped ${stoppedMs} ms later; ` +
        `members restarted healthy in ${healthyMs} ms, every partition served ${servedMs} ms after the restart began; the leader frozen 2.5 s: 0 leases lost`);
    } finally {
      for (const n of nodes) await n.close();
    }
  });
});

describe('topology 1x2 on a 3-member etcd', () => {
  test('the etcd leader killed under traffic: messages keep flowing, both chat nodes keep their partitions, the gateway routes all 1,024; isolate cuts a node off every member', async () => {
    const topo = await startTopology({ gateways: 1, chats: 2, verbose: !!process.env.DEBUG_CLUSTER });
    const clients: (ChatClient & { got: MessageBody[] })[] = [];
    try {
      assert.equal(topo.processes('etcd').length, 3);
      const connect = async (u: number) => {
        const c = (await ChatClient.connect({ url: topo.url, token: mintToken(topo.secret, u, 600), kind: 'lean' })) as ChatClient & { got: MessageBody[] };
        c.got = [];
        c.onMessage = (m) => c.got.push(m);
        clients.push(c);
        return c;
      };
      const users = Array.from({ length: 6 }, () => newUserId());
      const cs: (ChatClient & { got: MessageBody[] })[] = [];
      for (const u of users) cs.push(await connect(u));
      let sent = 0;
      const round = async (label: string) => {
        for (let i = 0; i < users.length; i++) {
          const to = (i + 1) % users.length;
          const ack = await cs[i]!.send(users[to]!, text(`${label}-${i}`));
          sent++;
          await waitFor(() => cs[to]!.got.some((m) => m.id === ack.id), 3000, `${label}-${i} delivered`);
        }
      };
      // Settled first: both chat nodes hold their rendezvous share (a node still starting is another test).
      const owners = etcdClient(topo.etcd.endpointList);
      try {
        const want = (p: number) => (partitionsOf('chat-0', ['chat-0', 'chat-1']).includes(p) ? 'chat-0' : 'chat-1');
        await waitFor(async () => {
          const all = await owners.getAll().prefix('/wa/owners/').strings();
          return Object.keys(all).length === PARTITIONS && Object.entries(all).every(([k, v]) => v === want(Number(k.slice(-4))));
        }, 15_000, 'both chat nodes serve their share');
      } finally {
        owners.close();
      }
      await round('before');
      const health = await topo.gatewayHealth(0);
      assert.equal(health.cluster?.nodes, 2);

      // The leader (the worst case: an election on top of the lost member).
      const victim = await leaderIndex(topo.etcd);
      await topo.kill('etcd', victim);
      const killedAt = Date.now();
      for (let r = 0; Date.now() - killedAt < 4000; r++) {
        await round(`r${r}`);
        const h = await topo.gatewayHealth(0);
        assert.equal(h.cluster?.partitions_routable, PARTITIONS, 'the gateway routes every partition');
        assert.equal(h.cluster?.nodes, 2, 'both chat nodes keep their leases');
      }
      for (const c of topo.processes('chat')) assert.ok(c.running);
      await topo.restart('etcd', victim);
      assert.ok(await topo.etcd.healthy(victim));
      await round('after restart');

      // isolate: chat-1 cut off from every member (one drop per member port): it leaves, chat-0 serves all.
      topo.isolate('chat', 1);
      try {
        await waitFor(async () => (await topo.gatewayHealth(0)).cluster?.nodes === 1, 8000, 'chat-1 gone from the membership');
        await topo.waitGatewaysReady(10_000);
        await round('isolated');
      } finally {
        topo.heal('chat', 1);
      }
      await waitFor(async () => (await topo.gatewayHealth(0)).cluster?.nodes === 2, 15_000, 'chat-1 back');
      console.log(`# topology 1x2, 3-member etcd: ${sent} messages delivered across the kill of etcd member ${victim} (the leader) and an isolate`);
    } finally {
      for (const c of clients) c.close();
      await topo.stop();
    }
  });
});
