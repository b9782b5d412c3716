// A single-member etcd started by the project on free loopback ports, its data
// in a temp dir (Debian's etcd-server; scripts/setup.sh installs it). The chat
// nodes keep their membership, partition ownership and fencing tokens in it
// (server/cluster/).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts } from '../../lib/net';
import { ManagedProcess } from './managed-process';

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
    await this.proc.kill();
    this.proc.restart();
    await this.proc.waitReady(() => etcdHealthy(this.clientPort), 15_000);
  }

  async stop(): Promise<void> {
    await this.proc.stop();
    if (this.ownsDataDir) rmSync(this.dataDir, { recursive: true, force: true });
  }
}

export function etcdBinary(): string {
  try {
    return execFileSync('sh', ['-c', 'command -v etcd'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('etcd is not installed: run `bash scripts/setup.sh` (apt-get install etcd-server)');
  }
}

export async function startEtcd(opts: EtcdOptions = {}): Promise<EtcdServer> {
  const bin = etcdBinary();
  const [clientPort, peerPort] = await freePorts(2);
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'wa-etcd-'));
  const peer = `http://127.0.0.1:${peerPort}`;
  const client = `http://127.0.0.1:${clientPort}`;
  for (const h of opts.extraClientHosts ?? []) if (!/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h)) throw new Error(`etcd: extra client host ${h} is not a loopback address`);
  const listen = [client, ...(opts.extraClientHosts ?? []).map((h) => `http://${h}:${clientPort}`)].join(',');
  const proc = new ManagedProcess({
    name: 'etcd',
    command: bin,
    args: [
      '--name', 'wa', '--data-dir', dataDir,
      '--listen-client-urls', listen, '--advertise-client-urls', client,
      '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer,
      '--initial-cluster', `wa=${peer}`, '--initial-cluster-state', 'new',
      // Small, local: no need for the default 100 ms heartbeats' slack or big snapshots.
      '--heartbeat-interval', '50', '--election-timeout', '500', '--snapshot-count', '20000',
      '--logger', 'zap', '--log-level', 'warn',
    ],
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
