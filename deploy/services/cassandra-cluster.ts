// The multi-node topology's Cassandra store (docs/design/013-scale-out.md): a
// local 3-node Apache Cassandra 5 cluster (deploy/cassandra-node.ts,
// scripts/cassandra.sh), either started here in the topology's temp dir and
// wiped at the end, or one the caller already started (a test file's cluster,
// a bench's, `make cassandra-cluster-start`), which is left running. Each
// node is a process a fault can act on: kill -9, SIGSTOP/SIGCONT, graceful
// stop, and start again (the same node dir, address, ports and token), which
// waits until every node sees every node Up/Normal again.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Client } from 'cassandra-driver';
import {
  killLocalClusterSync, killLocalNode, restartLocalNode, startLocalCluster, stopLocalNode, waitLocalClusterUp, wipeLocalCluster,
  type LocalCluster, type LocalNode,
} from '../cassandra-node';

/** The topology's cluster: three nodes, so RF=3 at LOCAL_QUORUM survives one node down (2 of 3 replicas answer). */
export const TOPOLOGY_CASSANDRA_NODES = 3;
/** Replication factor of the topology's keyspace: every node holds every partition. */
export const TOPOLOGY_CASSANDRA_RF = 3;
/** Dropping a reused cluster's keyspace at the end: a schema change on 3 nodes, seconds; past this it is left. */
const DROP_KEYSPACE_TIMEOUT_MS = 30_000;
/** A restarted node replays its commitlog and rejoins gossip: 10-30 s on 2 shared cores, more under load. */
export const CASSANDRA_RESTART_TIMEOUT_MS = 150_000;

export interface CassandraStoreOptions {
  /** A cluster already started (startLocalCluster): reused, left running at the end. Absent: start one here. */
  cluster?: LocalCluster;
  /** Keyspace of this topology (default: a fresh wa_<random> one, so runs on a reused cluster share nothing). */
  keyspace?: string;
  /** -Xmx of each node when started here (default: cassandra-node's 640M). */
  heap?: string;
}

/** One Cassandra node as a fault target (the shape loadgen's FaultableProcess asks for). */
export class CassandraNodeProcess {
  private stopped = false;

  constructor(readonly node: LocalNode, readonly name: string) {}

  /** The JVM's pid (its pid file), or 0. */
  get pid(): number {
    try {
      const pid = Number(readFileSync(join(this.node.dataDir, 'cassandra.pid'), 'utf8').trim());
      return Number.isInteger(pid) && pid > 1 ? pid : 0;
    } catch {
      return 0;
    }
  }

  get running(): boolean {
    const pid = this.pid;
    if (this.stopped || !pid) return false;
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  }

  /** SIGKILL (no drain, no memtable flush): what survives is in the commitlog and on the other replicas. */
  async kill(): Promise<void> {
    this.stopped = true;
    await killLocalNode(this.node);
  }

  pause(): void {
    this.signal('SIGSTOP');
  }

  resume(): void {
    this.signal('SIGCONT');
  }

  /** Signal the JVM if it is alive (a killed node's stale pid file names no process, or someone else's later). */
  private signal(sig: NodeJS.Signals): void {
    if (this.running) process.kill(this.pid, sig);
  }

  /** SIGTERM: the node drains (scripts/cassandra.sh stop). */
  async stop(): Promise<void> {
    // A frozen JVM cannot act on SIGTERM: resume it first, or the script waits out its timeout and kills it.
    this.resume();
    this.stopped = true;
    await stopLocalNode(this.node);
  }

  /** Start it again on the same dir and ports; resolves when it answers CQL (joining the ring is the cluster's wait). */
  async start(log?: (line: string) => void): Promise<void> {
    // A frozen JVM is resumed first, or the script would take it for a live node that does not answer.
    if (!this.stopped) this.resume();
    await restartLocalNode(this.node, log);
    this.stopped = false;
  }
}

export class TopologyCassandra {
  readonly nodes: CassandraNodeProcess[];

  private constructor(readonly cluster: LocalCluster, readonly keyspace: string, readonly owned: boolean) {
    this.nodes = cluster.nodes.map((n, i) => new CassandraNodeProcess(n, `cassandra-${i}`));
  }

  /** Start a cluster in `dir` (or adopt opts.cluster) and pick this topology's keyspace. */
  static async open(opts: CassandraStoreOptions, dir: string, log?: (line: string) => void): Promise<TopologyCassandra> {
    const keyspace = opts.keyspace ?? `wa_${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
    if (!/^[a-z][a-z0-9_]{0,47}$/.test(keyspace)) throw new Error(`cassandra keyspace "${keyspace}": lowercase letters, digits and _, at most 48`);
    if (opts.cluster) {
      if (opts.cluster.nodes.length !== TOPOLOGY_CASSANDRA_NODES) {
        throw new Error(`topology: the Cassandra cluster in ${opts.cluster.dir} has ${opts.cluster.nodes.length} nodes, not ${TOPOLOGY_CASSANDRA_NODES}`);
      }
      return new TopologyCassandra(opts.cluster, keyspace, false);
    }
    try {
      const cluster = await startLocalCluster({ nodes: TOPOLOGY_CASSANDRA_NODES, dir, heap: opts.heap, log });
      return new TopologyCassandra(cluster, keyspace, true);
    } catch (err) {
      killLocalClusterSync(dir);
      throw err;
    }
  }

  get contactPoints(): string[] {
    return this.cluster.contactPoints;
  }

  /** "Cassandra 3 nodes (127.0.0.1:P,...), keyspace K, RF=3, LOCAL_QUORUM (started by the topology)" */
  describe(): string {
    return `Cassandra ${this.nodes.length} nodes (${this.contactPoints.join(',')}), keyspace ${this.keyspace}, RF=${TOPOLOGY_CASSANDRA_RF}, LOCAL_QUORUM` +
      ` (${this.owned ? 'started by the topology' : `adopted: the cluster in ${this.cluster.dir}, left running`})`;
  }

  /** Start node i again and wait until every node sees every node Up/Normal. */
  async restart(i: number, log?: (line: string) => void): Promise<void> {
    const node = this.nodes[i];
    if (!node) throw new Error(`topology: no cassandra ${i} (there are ${this.nodes.length})`);
    const deadline = Date.now() + CASSANDRA_RESTART_TIMEOUT_MS;
    if (node.running) await node.stop();
    await node.start(log);
    await waitLocalClusterUp(this.cluster, Math.max(1000, deadline - Date.now()));
  }

  /** Every node resumed (a run never leaves one frozen); the cluster wiped when it is ours, else left running. */
  async stop(log?: (line: string) => void): Promise<void> {
    for (const n of this.nodes) if (n.running) n.resume();
    if (!this.owned) {
      await this.dropKeyspace().catch((err: Error) => log?.(`cassandra: dropping keyspace ${this.keyspace} failed: ${err.message}`));
      return;
    }
    try {
      await wipeLocalCluster(this.cluster, log);
    } catch (err) {
      log?.(`cassandra: wiping ${this.cluster.dir} failed (${(err as Error).message}); SIGKILL of its nodes`);
      killLocalClusterSync(this.cluster.dir);
    }
  }

  /** A reused cluster outlives the topology: its keyspace does not (runs would pile up keyspaces). */
  private async dropKeyspace(): Promise<void> {
    const client = new Client({
      contactPoints: this.contactPoints, localDataCenter: 'datacenter1',
      socketOptions: { connectTimeout: 5000, readTimeout: DROP_KEYSPACE_TIMEOUT_MS },
    });
    try {
      await client.connect();
      await client.execute(`DROP KEYSPACE IF EXISTS ${this.keyspace}`);
    } finally {
      await client.shutdown().catch(() => {});
    }
  }
}
