// A local Apache Cassandra 5 node, or a local cluster of nodes on 127.0.0.1..N,
// for the ScyllaDB store's tests and benchmarks, through scripts/cassandra.sh
// (which fetches it from Maven Central on first use).
// Not used by the running system: production points WA_SCYLLA_CONTACT_POINTS at
// a real ScyllaDB cluster.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../server/common/paths';
import { freePort, freePorts } from '../lib/net';

const run = promisify(execFile);
const SCRIPT = join(REPO_ROOT, 'scripts', 'cassandra.sh');
/** First fetch from Maven Central (~60 s) plus a start under load. */
const START_TIMEOUT_MS = 240_000;

export interface LocalNode {
  /** WA_CASSANDRA_DATA of this node (its own data, logs, pid file). */
  dataDir: string;
  port: number;
  storagePort: number;
  jmxPort: number;
  contactPoint: string;
  /** How long the last start took (fetch included). */
  startMs: number;
}

export interface LocalNodeOptions {
  /** Default: ~/.cache/wa-scale/cassandra/<name>. */
  dataDir?: string;
  name?: string;
  /**
   * CQL port; default: a free port, so a node someone else runs on 9042 is never reused (or stopped) by us.
   * The internode and JMX ports are free ports too: two nodes starting at once must not race for 7000/7199.
   */
  port?: number;
  /** A throwaway node (benchmarks): if its start fails, stop it and delete its data dir. */
  wipeIfStartFails?: boolean;
  log?: (line: string) => void;
}

type Ports = { port: number; storagePort: number; jmxPort: number };

function nodeEnv(dataDir: string, ports?: Ports): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, WA_CASSANDRA_DATA: dataDir };
  if (ports) {
    env.WA_CASSANDRA_PORT = String(ports.port);
    env.WA_CASSANDRA_STORAGE_PORT = String(ports.storagePort);
    env.WA_CASSANDRA_JMX_PORT = String(ports.jmxPort);
  }
  return env;
}

async function script(cmd: string, dataDir: string, ports: Ports | undefined, log?: (line: string) => void): Promise<string> {
  return scriptWith(cmd, nodeEnv(dataDir, ports), START_TIMEOUT_MS, log);
}

async function scriptWith(cmd: string, env: NodeJS.ProcessEnv, timeoutMs: number, log?: (line: string) => void): Promise<string> {
  try {
    const { stdout, stderr } = await run('bash', [SCRIPT, cmd], { env, timeout: timeoutMs, maxBuffer: 16 << 20 });
    for (const line of stderr.split('\n')) if (line.trim()) log?.(line);
    return stdout.trim();
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`scripts/cassandra.sh ${cmd} failed: ${e.stderr?.trim() || e.message}`);
  }
}

export { freePort, freePorts };

/** The data dir of a named node under the cache (~/.cache/wa-scale/cassandra/<name>). */
export function localNodeDir(name: string): string {
  return join(homedir(), '.cache', 'wa-scale', 'cassandra', name);
}

/** Start (or reuse, if this data dir's node already runs) a node; resolves when CQL answers. */
export async function startLocalNode(opts: LocalNodeOptions = {}): Promise<LocalNode> {
  const dataDir = opts.dataDir ?? localNodeDir(opts.name ?? 'node');
  const [cql, storagePort, jmxPort] = await freePorts(3);
  const ports: Ports = { port: opts.port ?? cql!, storagePort: storagePort!, jmxPort: jmxPort! };
  const t0 = Date.now();
  let out: string;
  try {
    out = await script('start', dataDir, ports, opts.log);
  } catch (err) {
    if (opts.wipeIfStartFails) await wipeLocalNode({ dataDir, log: opts.log }).catch(() => {});
    throw err;
  }
  const actual = Number(out.split('\n').pop());
  if (!Number.isInteger(actual) || actual <= 0) throw new Error(`scripts/cassandra.sh start printed no port: ${out}`);
  return { dataDir, ...ports, port: actual, contactPoint: `127.0.0.1:${actual}`, startMs: Date.now() - t0 };
}

/**
 * Stop whatever node runs in this data dir and delete its data (dropping a
 * keyspace instead costs seconds each). Give every concurrent user its own
 * data dir: this stops the node of whoever else uses the same one.
 */
export async function wipeLocalNode(opts: LocalNodeOptions = {}): Promise<void> {
  const dataDir = opts.dataDir ?? localNodeDir(opts.name ?? 'node');
  await script('stop', dataDir, undefined, opts.log);
  await script('wipe', dataDir, undefined, opts.log);
}

/** Restart a stopped (or killed) node on the same port. */
export async function restartLocalNode(node: LocalNode, log?: (line: string) => void): Promise<LocalNode> {
  const t0 = Date.now();
  await script('start', node.dataDir, node, log);
  node.startMs = Date.now() - t0;
  return node;
}

/** Graceful stop (SIGTERM: Cassandra drains), as `scripts/cassandra.sh stop`. */
export async function stopLocalNode(node: LocalNode, log?: (line: string) => void): Promise<void> {
  await script('stop', node.dataDir, node, log);
}

/** SIGKILL the node's JVM (no drain, no memtable flush): what survives is what the commitlog holds. */
export async function killLocalNode(node: LocalNode): Promise<void> {
  const pid = Number(readFileSync(join(node.dataDir, 'cassandra.pid'), 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 1) throw new Error(`no pid in ${node.dataDir}/cassandra.pid`);
  process.kill(pid, 'SIGKILL');
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`pid ${pid} still alive 30 s after SIGKILL`);
}

/**
 * `nodetool flush <keyspaces>`: memtables to SSTables. The test node runs with
 * -Dcassandra.unsafesystem=true (scripts/cassandra.sh: fast DDL), so schema
 * changes are not in its commitlog; a test that kills the JVM flushes
 * system_schema first, or the tables (and the commitlog entries for them) are
 * gone after the restart. Production nodes do not run with that flag.
 */
export async function flushLocalNode(node: LocalNode, keyspaces: string[]): Promise<void> {
  try {
    await run('bash', [SCRIPT, 'nodetool', 'flush', ...keyspaces], { env: nodeEnv(node.dataDir, node), timeout: 60_000 });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`nodetool flush ${keyspaces.join(' ')} failed: ${e.stderr?.trim() || e.message}`);
  }
}

/** "running ..." or "stopped". */
export async function localNodeStatus(node: LocalNode): Promise<string> {
  try {
    return (await run('bash', [SCRIPT, 'status'], { env: nodeEnv(node.dataDir) })).stdout.trim();
  } catch (err) {
    return ((err as { stdout?: string }).stdout ?? '').trim() || (err as Error).message;
  }
}

/**
 * Wipe nodes named `<prefix>*` under the cache that are stopped and older than
 * `minAgeMs`: what runs killed before their cleanup left behind. Running nodes
 * (someone else's run) are left alone.
 */
export async function sweepStaleNodes(prefix: string, minAgeMs = 3600_000): Promise<string[]> {
  const root = localNodeDir('');
  let names: string[];
  try {
    names = readdirSync(root).filter((n) => n.startsWith(prefix));
  } catch {
    return [];
  }
  const swept: string[] = [];
  for (const name of names) {
    const dataDir = join(root, name);
    try {
      if (Date.now() - statSync(dataDir).mtimeMs < minAgeMs) continue;
      const status = await localNodeStatus({ dataDir, port: 0, storagePort: 0, jmxPort: 0, contactPoint: '', startMs: 0 });
      if (status !== 'stopped') continue;
      await script('wipe', dataDir, undefined);
      swept.push(name);
    } catch {
      // not ours to judge: leave it
    }
  }
  return swept;
}

// ------------------------------------------------------------------ a local cluster

/** Nodes started one at a time (each ~10-30 s on 2 shared cores) plus the wait for every node to see all UN. */
const CLUSTER_START_TIMEOUT_MS = 480_000;

export interface LocalCluster {
  /** WA_CASSANDRA_CLUSTER_DIR: node1..nodeN below it. */
  dir: string;
  /** Node i (0-based) listens on 127.0.0.(i+1), all on the same CQL port. */
  nodes: LocalNode[];
  /** host:port of every node: WA_SCYLLA_CONTACT_POINTS. */
  contactPoints: string[];
  /** How long the last cluster start took, until every node reported all nodes UN. */
  startMs: number;
}

export interface LocalClusterOptions {
  /** Nodes on 127.0.0.1..127.0.0.N (default 3; 1-9). */
  nodes?: number;
  /** Default: ~/.cache/wa-scale/cassandra/<name>. */
  dir?: string;
  name?: string;
  /** -Xmx of each node (default 640M: three nodes fit beside the system under test). */
  heap?: string;
  log?: (line: string) => void;
}

function clusterEnv(dir: string, opts: LocalClusterOptions = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, WA_CASSANDRA_CLUSTER_DIR: dir, WA_CASSANDRA_NODES: String(opts.nodes ?? 3) };
  if (opts.heap) env.MAX_HEAP_SIZE = opts.heap;
  // Ports are the cluster's own choice (recorded in its dir): not whatever a single node of the caller asked for.
  delete env.WA_CASSANDRA_PORT;
  delete env.WA_CASSANDRA_STORAGE_PORT;
  delete env.WA_CASSANDRA_JMX_PORT;
  delete env.WA_CASSANDRA_DATA;
  return env;
}

function readPorts(dataDir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(join(dataDir, 'ports'), 'utf8').split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) out[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return out;
}

/**
 * Start (or reuse) a cluster of `nodes` nodes on 127.0.0.1..N through
 * `scripts/cassandra.sh cluster-start`: one node at a time, resolves when every
 * node sees every node Up/Normal. Create keyspaces on it with RF = nodes
 * (WA_SCYLLA_RF / --rf).
 */
export async function startLocalCluster(opts: LocalClusterOptions = {}): Promise<LocalCluster> {
  const dir = opts.dir ?? localNodeDir(opts.name ?? 'cluster');
  const t0 = Date.now();
  const out = await scriptWith('cluster-start', clusterEnv(dir, opts), CLUSTER_START_TIMEOUT_MS, opts.log);
  const contactPoints = (out.split('\n').pop() ?? '').split(',').filter(Boolean);
  const count = opts.nodes ?? 3;
  if (contactPoints.length !== count) throw new Error(`scripts/cassandra.sh cluster-start printed ${contactPoints.length} contact points, not ${count}: ${out}`);
  const nodes = contactPoints.map((contactPoint, i) => {
    const dataDir = join(dir, `node${i + 1}`);
    const p = readPorts(dataDir);
    return { dataDir, port: Number(p.native), storagePort: Number(p.storage), jmxPort: Number(p.jmx), contactPoint, startMs: 0 };
  });
  return { dir, nodes, contactPoints, startMs: Date.now() - t0 };
}

/** Stop every node of the cluster (SIGTERM, in parallel). */
export async function stopLocalCluster(cluster: Pick<LocalCluster, 'dir'>, log?: (line: string) => void): Promise<void> {
  await scriptWith('cluster-stop', clusterEnv(cluster.dir), 120_000, log);
}

/** Stop the cluster and delete its data. */
export async function wipeLocalCluster(cluster: Pick<LocalCluster, 'dir'>, log?: (line: string) => void): Promise<void> {
  await stopLocalCluster(cluster, log);
  await scriptWith('cluster-wipe', clusterEnv(cluster.dir), 60_000, log);
}

/**
 * The ring as nodetool on the first answering node sees it, e.g.
 * { '127.0.0.1': 'UN', '127.0.0.2': 'DN', ... }.
 */
export async function localClusterRing(cluster: LocalCluster): Promise<Record<string, string>> {
  const ring: Record<string, string> = {};
  for (const node of cluster.nodes) {
    try {
      const { stdout } = await run('bash', [SCRIPT, 'nodetool', 'status'], { env: nodeEnv(node.dataDir, node), timeout: 60_000 });
      for (const m of stdout.matchAll(/^([UD][NLJM])\s+(\S+)/gm)) ring[m[2]!] = m[1]!;
      return ring;
    } catch {
      // this node does not answer JMX (down): ask the next
    }
  }
  return ring;
}

/** Wait (bounded) until every node of the cluster is UN as the first answering node sees it. */
export async function waitLocalClusterUp(cluster: LocalCluster, timeoutMs: number): Promise<Record<string, string>> {
  const deadline = Date.now() + timeoutMs;
  let ring: Record<string, string> = {};
  while (Date.now() < deadline) {
    ring = await localClusterRing(cluster);
    if (Object.keys(ring).length === cluster.nodes.length && Object.values(ring).every((s) => s === 'UN')) return ring;
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error(`cluster not all UN within ${timeoutMs} ms: ${JSON.stringify(ring)}`);
}

/**
 * SIGKILL every node JVM of the cluster in `dir` that is still running, synchronously (a test's last
 * resort when the script cannot stop them, and its process 'exit' hook). Only a JVM whose command line
 * names its node dir under `dir` is killed. Returns the pids killed.
 */
export function killLocalClusterSync(dir: string): number[] {
  const killed: number[] = [];
  for (let i = 1; i <= 9; i++) {
    const nodeDir = join(dir, `node${i}`);
    const pidFile = join(nodeDir, 'cassandra.pid');
    if (!existsSync(pidFile)) continue;
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    if (!Number.isInteger(pid) || pid <= 1) continue;
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (!cmdline.includes(`-Dwa.cassandra.node=${nodeDir}`)) continue;
      process.kill(pid, 'SIGKILL');
      killed.push(pid);
    } catch {
      // gone already
    }
  }
  return killed;
}
