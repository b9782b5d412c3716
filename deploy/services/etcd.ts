// etcd started by the project on free loopback ports, its data in a temp dir
// (Debian's etcd-server; scripts/setup.sh installs it): a single member
// (startEtcd) or a 3-member cluster (startEtcdCluster: one member may die and
// the cluster keeps its quorum). The chat nodes keep their membership,
// partition ownership and fencing tokens in it (server/cluster/).
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts } from '../../lib/net';
import { installedBinary, ManagedProcess } from './managed-process';

export interface EtcdOptions {
  /** Where etcd keeps its data; a fresh temp dir (removed on stop) when omitted. */
  dataDir?: string;
  verbose?: boolean;
  startTimeoutMs?: number;
  /**
   * More loopback addresses to serve clients on, same port (e.g. 127.0.0.2): a client given one of
   * them can be cut off from etcd alone by a packet filter (deploy/services/net-fault.ts).
   */
  extraClientHosts?: string[];
}

export class EtcdServer {
  constructor(
    readonly proc: ManagedProcess,
    readonly clientPort: number,
    readonly dataDir: string,
    private readonly ownsDataDir: boolean,
  ) {}

  /** The endpoint the etcd3 client and our processes take (WA_ETCD_ENDPOINTS). */
  get endpoint(): string {
    return `http://127.0.0.1:${this.clientPort}`;
  }

  /** kill -9 then start again on the same ports and data (its keys survive; leases keep their TTLs). */
  async restart(): Promise<void> {
    await this.proc.killAndRestart(() => etcdHealthy(this.clientPort), 15_000);
  }

  async stop(): Promise<void> {
    await this.proc.stop();
    if (this.ownsDataDir) rmSync(this.dataDir, { recursive: true, force: true });
  }
}

export function etcdBinary(): string {
  return installedBinary('etcd', 'etcd-server');
}

export async function startEtcd(opts: EtcdOptions = {}): Promise<EtcdServer> {
  const bin = etcdBinary();
  const [clientPort, peerPort] = await freePorts(2);
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'wa-etcd-'));
  const peer = `http://127.0.0.1:${peerPort}`;
  const proc = new ManagedProcess({
    name: 'etcd',
    command: bin,
    args: memberArgs({ name: 'wa', dataDir, clientPort: clientPort!, peerPort: peerPort!, extraClientHosts: opts.extraClientHosts, initialCluster: `wa=${peer}`, state: 'new' }),
    verbose: opts.verbose,
  }).start();
  const server = new EtcdServer(proc, clientPort!, dataDir, opts.dataDir === undefined);
  try {
    await proc.waitReady(() => etcdHealthy(clientPort!), opts.startTimeoutMs ?? 15_000);
  } catch (err) {
    await server.stop();
    throw err;
  }
  return server;
}

export interface MemberSpec {
  name: string;
  dataDir: string;
  clientPort: number;
  peerPort: number;
  extraClientHosts?: string[];
  /** name=http://127.0.0.1:peer,... for every member. */
  initialCluster: string;
  state: 'new' | 'existing';
  /** Raft election timeout (ms); heartbeats every 50 ms. Default 500. */
  electionMs?: number;
}

/** The command line of one member (single or in a cluster). */
export function memberArgs(m: MemberSpec): string[] {
  for (const h of m.extraClientHosts ?? []) if (!/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h)) throw new Error(`etcd: extra client host ${h} is not a loopback address`);
  const peer = `http://127.0.0.1:${m.peerPort}`;
  const client = `http://127.0.0.1:${m.clientPort}`;
  const listen = [client, ...(m.extraClientHosts ?? []).map((h) => `http://${h}:${m.clientPort}`)].join(',');
  return [
    '--name', m.name, '--data-dir', m.dataDir,
    '--listen-client-urls', listen, '--advertise-client-urls', client,
    '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer,
    '--initial-cluster', m.initialCluster, '--initial-cluster-state', m.state,
    // Small, local: no need for the default 100 ms heartbeats' slack or big snapshots.
    '--heartbeat-interval', '50', '--election-timeout', String(m.electionMs ?? 500), '--snapshot-count', '20000',
    '--logger', 'zap', '--log-level', 'warn',
  ];
}

export interface EtcdClusterOptions {
  /** 3: a real cluster (one member may die, quorum stays); 1: a single member. */
  members?: 1 | 3;
  /** More loopback addresses every member also serves clients on, each member on its own port (see EtcdOptions). */
  extraClientHosts?: string[];
  verbose?: boolean;
  startTimeoutMs?: number;
}

export interface EtcdMember {
  readonly name: string;
  readonly proc: ManagedProcess;
  readonly clientPort: number;
  readonly peerPort: number;
  readonly dataDir: string;
}

/**
 * N members on 127.0.0.1, each with its own client and peer ports and data dir (under one temp
 * dir, removed on stop). A member killed and restarted comes back on the same ports and data with
 * --initial-cluster-state existing.
 */
export class EtcdCluster {
  constructor(
    readonly members: readonly EtcdMember[],
    /** The temp dir holding every member's data dir. */
    readonly dataDir: string,
    private readonly startTimeoutMs: number,
  ) {}

  get procs(): ManagedProcess[] {
    return this.members.map((m) => m.proc);
  }

  get clientPorts(): number[] {
    return this.members.map((m) => m.clientPort);
  }

  /** Every member's client URL on 127.0.0.1. */
  get endpointList(): string[] {
    return this.endpointsVia('127.0.0.1');
  }

  /** The comma list WA_CLUSTER_ETCD takes. */
  get endpoints(): string {
    return this.endpointList.join(',');
  }

  /** Every member's client URL on another loopback address (one of extraClientHosts). */
  endpointsVia(host: string): string[] {
    return this.members.map((m) => `http://${host}:${m.clientPort}`);
  }

  healthy(i: number): Promise<boolean> {
    return etcdHealthy(this.member(i).clientPort);
  }

  /** kill -9 member i, start it again on the same ports and data, wait until it says healthy. */
  async restart(i: number): Promise<void> {
    const m = this.member(i);
    await m.proc.killAndRestart(() => etcdHealthy(m.clientPort), this.startTimeoutMs);
  }

  async stop(): Promise<void> {
    await Promise.all(this.members.map((m) => m.proc.stop()));
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  private member(i: number): EtcdMember {
    const m = this.members[i];
    if (!m) throw new Error(`etcd: no member ${i} (there are ${this.members.length})`);
    return m;
  }
}

/**
 * The cluster's election timeout: a dead or frozen leader is replaced within 300-600 ms (raft randomizes
 * it up to twice). With 500 ms the election alone could take a whole second, and a chat node's 2 s lease
 * (1.6 s of serving after a confirmed keepalive) did not always outlast it (test/etcd-cluster.test.ts).
 * Still 6 heartbeats (50 ms), so a busy box does not start elections for nothing.
 */
export const CLUSTER_ELECTION_MS = 300;

export async function startEtcdCluster(opts: EtcdClusterOptions = {}): Promise<EtcdCluster> {
  const n = opts.members ?? 3;
  if (n !== 1 && n !== 3) throw new Error(`etcd: members must be 1 or 3, got ${n}`);
  const bin = etcdBinary();
  const ports = await freePorts(2 * n);
  const root = mkdtempSync(join(tmpdir(), 'wa-etcd-'));
  const specs: MemberSpec[] = Array.from({ length: n }, (_, i) => ({
    name: `wa${i}`, dataDir: join(root, `member-${i}`), clientPort: ports[2 * i]!, peerPort: ports[2 * i + 1]!,
    extraClientHosts: opts.extraClientHosts, initialCluster: '', state: 'new' as const, electionMs: n === 1 ? 500 : CLUSTER_ELECTION_MS,
  }));
  const initialCluster = specs.map((m) => `${m.name}=http://127.0.0.1:${m.peerPort}`).join(',');
  for (const m of specs) m.initialCluster = initialCluster;
  const timeoutMs = opts.startTimeoutMs ?? 15_000;
  const members: EtcdMember[] = specs.map((m, i) => ({
    name: m.name, clientPort: m.clientPort, peerPort: m.peerPort, dataDir: m.dataDir,
    proc: new ManagedProcess({ name: n === 1 ? 'etcd' : `etcd-${i}`, command: bin, args: memberArgs(m), verbose: opts.verbose }).start(),
  }));
  const cluster = new EtcdCluster(members, root, timeoutMs);
  try {
    await Promise.all(members.map((m) => m.proc.waitReady(() => etcdHealthy(m.clientPort), timeoutMs)));
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  // From now on a (re)start joins the cluster its data dir already belongs to.
  for (const [i, m] of members.entries()) m.proc.spec.args = memberArgs({ ...specs[i]!, state: 'existing' });
  return cluster;
}

/** GET /health answers {"health":"true"} once the member serves reads and writes. */
export function etcdHealthy(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/health', timeout: 1000 }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve(res.statusCode === 200 && body.includes('"true"')));
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
    req.end();
  });
}
