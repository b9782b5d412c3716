// An in-process ownership node for the cluster tests: membership and partition
// ownership over a real etcd (server/cluster), recording which partitions it
// served when, with which fencing token, and every lease it lost.
import { etcdClient } from '../../server/cluster/etcd';
import { ClusterMembership } from '../../server/cluster/membership';
import { PartitionOwnership } from '../../server/cluster/ownership';

export interface Node {
  name: string;
  member: ClusterMembership;
  own: PartitionOwnership;
  /** Partition -> time it started / stopped being served here (for overlap checks). */
  servedFrom: Map<number, number>;
  history: { p: number; from: number; to: number; token: number }[];
  /** Every 'lost' the membership emitted: when, and why. */
  losses: { at: number; reason: string }[];
  close(): Promise<void>;
}

/** endpoints: one URL or several (every member of a cluster). */
export async function startNode(endpoints: string | string[], name: string, leaseSeconds = 2): Promise<Node> {
  const client = etcdClient(typeof endpoints === 'string' ? [endpoints] : endpoints);
  const member = new ClusterMembership(client, { name, grpc: `127.0.0.1:${1000 + name.length}`, leaseSeconds, log: (l) => process.env.DEBUG_CLUSTER && console.log(name, l) });
  const servedFrom = new Map<number, number>();
  const history: Node['history'] = [];
  const tokens = new Map<number, number>();
  const stop = (ps: number[]) => {
    for (const p of ps) {
      history.push({ p, from: servedFrom.get(p)!, to: Date.now(), token: tokens.get(p)! });
      servedFrom.delete(p);
    }
  };
  const own = new PartitionOwnership(client, member, name, {
    acquired: async (ps, token) => {
      for (const p of ps) {
        servedFrom.set(p, Date.now());
        tokens.set(p, token);
      }
    },
    releasing: async (ps) => stop(ps),
    lost: (ps) => stop(ps),
  }, (l) => process.env.DEBUG_CLUSTER && console.log(name, l));
  const losses: Node['losses'] = [];
  member.on('lost', (reason) => losses.push({ at: Date.now(), reason }));
  await member.join();
  await own.start();
  return {
    name, member, own, servedFrom, history, losses,
    close: async () => {
      await member.withdraw().catch(() => {});
      await own.releaseAll().catch(() => {});
      await member.leave();
      client.close();
    },
  };
}
