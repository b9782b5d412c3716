// Partition ownership over a real etcd (started on free ports by deploy/services/etcd.ts):
// every partition has exactly one owner, joins and leaves move only the changed node's share,
// a node whose lease runs out stops serving before another node takes its partitions, and
// fencing tokens only grow.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { waitFor } from '../lib/async';
import { PARTITIONS, partitionsOf, rendezvousOwner } from '../server/common/partitions';
import { checkEtcd, etcdClient } from '../server/cluster/etcd';
import { OwnerMap } from '../server/cluster/owner-map';
import { startEtcd, type EtcdServer } from '../deploy/services/etcd';
import { TcpDrop } from '../deploy/services/net-fault';
import { startNode, type Node } from './helpers/ownership-node';
import { ClusterMembership } from '../server/cluster/membership';
import { PartitionOwnership } from '../server/cluster/ownership';
import { ownerKey } from '../server/cluster/keys';

describe('cluster ownership on etcd', () => {
  let etcd: EtcdServer;
  before(async () => {
    etcd = await startEtcd({ extraClientHosts: ['127.0.0.2'] });
  });
  after(async () => {
    await etcd?.stop();
  });

  test('rendezvous: every partition has one owner, and removing a node moves only its share', () => {
    const three = ['chat-1', 'chat-2', 'chat-3'];
    const shares = three.map((n) => partitionsOf(n, three).length);
    assert.equal(shares.reduce((a, b) => a + b, 0), PARTITIONS);
    for (const s of shares) assert.ok(s > PARTITIONS / 3 - 80 && s < PARTITIONS / 3 + 80, `balanced: ${shares}`);
    let moved = 0;
    for (let p = 0; p < PARTITIONS; p++) {
      const before = rendezvousOwner(p, three);
      const afterLeave = rendezvousOwner(p, ['chat-1', 'chat-3']);
      if (before !== afterLeave) {
        moved++;
        assert.equal(before, 'chat-2', 'only the leaving node\'s partitions move');
      }
    }
    assert.equal(moved, shares[1]);
  });

  test('bad configuration fails fast with a clear message', async () => {
    const client = etcdClient(['http://127.0.0.1:1']);
    const t0 = Date.now();
    await assert.rejects(checkEtcd(client, ['http://127.0.0.1:1'], 2000), /etcd at http:\/\/127\.0\.0\.1:1 is unreachable/);
    assert.ok(Date.now() - t0 < 5000);
    client.close();
  });

  test('three nodes split the partitions; a graceful leave hands over without overlap; a lost lease stops serving before the takeover', async () => {
    const nodes = [await startNode(etcd.endpoint, 'chat-1'), await startNode(etcd.endpoint, 'chat-2'), await startNode(etcd.endpoint, 'chat-3')];
    const map = new OwnerMap(etcdClient([etcd.endpoint]));
    await map.start();
    const served = () => nodes.reduce((n, x) => n + x.servedFrom.size, 0);
    const names = nodes.map((x) => x.name);
    const settled = () => nodes.every((n) => [...n.servedFrom.keys()].sort((a, b) => a - b).join() === partitionsOf(n.name, names).join());
    await waitFor(() => settled() && served() === PARTITIONS && map.partitionsOwned === PARTITIONS, 15_000, 'every partition served once').catch((e) => { throw new Error(`${e.message}: served ${nodes.map((n) => n.servedFrom.size)} map ${map.partitionsOwned}`); });
    for (const n of nodes) assert.deepEqual([...n.servedFrom.keys()].sort((a, b) => a - b), partitionsOf(n.name, nodes.map((x) => x.name)));
    for (let p = 0; p < PARTITIONS; p++) assert.equal(map.ownerOf(p), rendezvousOwner(p, ['chat-1', 'chat-2', 'chat-3']));

    // Graceful leave of chat-2: its partitions move to the other two, nobody else's move.
    const share2 = nodes[1]!.servedFrom.size;
    const before1 = new Set(nodes[0]!.servedFrom.keys());
    const released2 = nodes[1]!.history.length;
    await nodes[1]!.close();
    await waitFor(() => nodes[0]!.servedFrom.size + nodes[2]!.servedFrom.size === PARTITIONS, 10_000, 'chat-2 share taken over');
    for (const p of before1) assert.ok(nodes[0]!.servedFrom.has(p), 'chat-1 kept its partitions');
    assert.equal(nodes[1]!.history.length - released2, share2, 'chat-2 released exactly its share');

    // chat-3 stops keeping its lease alive (as if paused): it must stop serving before chat-1 takes over.
    const victim = nodes[2]!;
    // (and cannot come back: its rejoin never happens, as if still paused).
    const frozen = victim.member as unknown as { keepalive: () => Promise<void>; rejoin: () => Promise<void> };
    frozen.keepalive = async () => {};
    frozen.rejoin = async () => {};
    await waitFor(() => victim.servedFrom.size === 0, 5000, 'the victim stops serving at its deadline');
    await waitFor(() => nodes[0]!.servedFrom.size === PARTITIONS, 10_000, 'chat-1 serves everything');
    // No overlap: for every partition, the victim's last serving moment precedes chat-1's start.
    for (const h of victim.history) {
      const start = nodes[0]!.servedFrom.get(h.p);
      assert.ok(start !== undefined && start >= h.to, `partition ${h.p}: victim served until ${h.to}, chat-1 from ${start}`);
    }
    // Tokens only grow across owners.
    const lastToken = new Map<number, number>();
    for (const h of [...nodes[1]!.history, ...victim.history].sort((a, b) => a.from - b.from)) {
      assert.ok(h.token > (lastToken.get(h.p) ?? 0));
      lastToken.set(h.p, h.token);
    }
    await map.close();
    for (const n of [nodes[0]!, victim]) await n.close();
  });

  test('an owner key already ours under our lease (a create whose answer was lost) is adopted, not left unserved', async () => {
    const client = etcdClient([etcd.endpoint]);
    const member = new ClusterMembership(client, { name: 'adopt-1', grpc: '127.0.0.1:1001', leaseSeconds: 2, log: () => {} });
    await member.join();
    // As if our create of partition 7 committed but its answer never came back.
    const created = await client.put(ownerKey(7)).value('adopt-1').lease(member.leaseId).exec();
    const served = new Map<number, number>();
    const own = new PartitionOwnership(client, member, 'adopt-1', {
      acquired: async (ps, token) => { for (const p of ps) served.set(p, token); },
      releasing: async (ps) => { for (const p of ps) served.delete(p); },
      lost: (ps) => { for (const p of ps) served.delete(p); },
    }, () => {});
    try {
      await own.start();
      await waitFor(() => served.size === PARTITIONS, 10_000, 'every partition served, 7 included');
      assert.equal(served.get(7), Number(created.header.revision), 'the token of partition 7 is its key\'s creation revision');
    } finally {
      await member.withdraw().catch(() => {});
      await own.releaseAll().catch(() => {});
      await member.leave();
      client.close();
    }
  });

  test('a node cut off from etcd (nftables drop on its own etcd address) stops serving at its deadline; the others take over; it rejoins when healed', async () => {
    const a = await startNode(etcd.endpoint, 'cut-a');
    const b = await startNode(etcd.endpoint, 'cut-b');
    const c = await startNode(`http://127.0.0.2:${etcd.clientPort}`, 'cut-c');
    const all = [a, b, c];
    const names = all.map((n) => n.name);
    const settled = (nodes: Node[], live: string[]) =>
      nodes.every((n) => [...n.servedFrom.keys()].sort((x, y) => x - y).join() === partitionsOf(n.name, live).join());
    let drop: TcpDrop | null = null;
    try {
      await waitFor(() => settled(all, names), 15_000, 'three nodes settled');
      const cutAt = Date.now();
      drop = TcpDrop.start('127.0.0.2', etcd.clientPort);
      await waitFor(() => c.servedFrom.size === 0, 5000, 'the cut node stops serving');
      const stoppedMs = Date.now() - cutAt;
      assert.ok(stoppedMs <= 2000, `stopped ${stoppedMs} ms after the cut: within its lease`);
      await waitFor(() => a.servedFrom.size + b.servedFrom.size === PARTITIONS, 10_000, 'the others serve everything');
      for (const h of c.history.filter((x) => x.to >= cutAt)) {
        const start = a.servedFrom.get(h.p) ?? b.servedFrom.get(h.p);
        assert.ok(start !== undefined && start >= h.to, `partition ${h.p}: cut node served until ${h.to}, the next owner from ${start}`);
      }
      drop.heal();
      drop = null;
      await waitFor(() => settled(all, names), 20_000, 'the healed node rejoins and takes its share back');
    } finally {
      drop?.heal();
      for (const n of all) await n.close();
    }
  });
});
