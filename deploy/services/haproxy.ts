// HAProxy (Debian's haproxy 2.6; scripts/setup.sh installs it) started by the
// project on a free loopback port in front of the gateways, never the system
// service. Clients open WebSockets (/v1/ws), register (/v1/register) and read
// /healthz through it; it balances by least connections (sockets live long, so
// round robin would pile a restarted gateway's share onto the survivors) and
// checks every gateway's GET /healthz every 500 ms: two failures (~1 s) mark a
// gateway down, so a draining gateway (503) or a dead one gets no new sockets.
//
// It runs in master-worker mode (-W). setServers() re-points a server slot
// through the runtime API (a stats socket in the temp dir; open tunnels stay)
// or, when the number of gateways changes, rewrites the config and sends
// SIGUSR2 to the master, which starts a new worker on it and lets the old one
// keep its tunnels until hard-stop-after. The master's pid never changes, so
// its ManagedProcess stays valid for faults. The runtime API also reports each
// server's state (servers()).
//
// TLS: with `tls` it also terminates TLS on a second loopback port of the
// same frontend (`bind ... ssl crt <pem>`, certificate and key in one PEM),
// as a production load balancer does in front of gateways that speak plain
// ws:// (the uWS build has no TLS). The caller brings the certificate.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../lib/net';
import { DEFAULT_MEDIA_LIMITS } from '../../server/common/config-media';
import { installedBinary, ManagedProcess } from './managed-process';

/** The health-check timing HAProxy uses for every gateway (milliseconds). */
export const HAPROXY_CHECK = Object.freeze({
  /** A check every this often. */
  inter_ms: 500,
  /** Consecutive failures that mark a gateway down: down within about inter_ms * fall after it stops answering. */
  fall: 2,
  /** Consecutive successes that bring it back. */
  rise: 2,
});

/** HAProxy's other bounds. */
export const HAPROXY_LIMITS = Object.freeze({
  /** Connections HAProxy holds at once: 2 fds each, under this machine's 20,000 open files with room. */
  conns_max: 8_000,
  /** An idle WebSocket stays up this long (the gateway's own idle timeout, 60 s with pings, ends it first). */
  tunnel_timeout_ms: 3_600_000,
  /** An old worker left after a reload (or a stop) is killed after this, whatever it still holds. */
  hard_stop_after_ms: 5_000,
  /** Connecting to a gateway: loopback, so a slow connect means it is gone. */
  connect_timeout_ms: 2_000,
  /** Users uploading media at once that the upload stick table remembers (~200 B each: 20 MB at most). */
  upload_stick_entries: 100_000,
  /** The key is the Authorization header: "Bearer " + a token (~100 B); longer ones are cut, still a unique prefix. */
  upload_stick_key_bytes: 256,
});

export interface HaproxyOptions {
  /** The gateways' ports on 127.0.0.1. */
  serverPorts: number[];
  /** Fixed listening port (a restart keeps it); a free one when omitted. */
  port?: number;
  verbose?: boolean;
  startTimeoutMs?: number;
  /** Also terminate TLS (wss://) on another port. */
  tls?: HaproxyTls;
}

export interface HaproxyTls {
  /** One PEM file holding the certificate (chain) and its private key, as HAProxy's `crt` wants it. */
  pemPath: string;
  /** Fixed TLS port; a free one when omitted. */
  port?: number;
  /** Refuse handshakes without a matching SNI name (HAProxy's strict-sni): shows that a client sends SNI. */
  strictSni?: boolean;
}

/** The TLS listener as configured (its port resolved). */
interface TlsBind {
  port: number;
  pemPath: string;
  strictSni: boolean;
}

/** One gateway as HAProxy sees it (the runtime API's `show servers state`). */
export interface ServerState {
  name: string;
  port: number;
  /** HAProxy's operational state: 0 stopped (down), 1 starting, 2 running (up), 3 soft-stopping. */
  up: boolean;
}

export class HaproxyServer {
  constructor(
    readonly proc: ManagedProcess,
    readonly port: number,
    private readonly dir: string,
    private serverPorts: number[],
    private readonly tls: TlsBind | null = null,
  ) {}

  /** The TLS port (0 when started without `tls`). */
  get tlsPort(): number {
    return this.tls?.port ?? 0;
  }

  /** wss://<host>:<tls port>/v1/ws; host 127.0.0.1 by default, or a name the certificate carries (localhost). */
  tlsUrl(host = '127.0.0.1'): string {
    if (!this.tls) throw new Error('haproxy: started without tls');
    return `wss://${host}:${this.tls.port}/v1/ws`;
  }

  /** ws://127.0.0.1:<port>/v1/ws: where clients connect. */
  get url(): string {
    return `ws://127.0.0.1:${this.port}/v1/ws`;
  }

  get httpUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get configPath(): string {
    return join(this.dir, 'haproxy.cfg');
  }

  get socketPath(): string {
    return join(this.dir, 'admin.sock');
  }

  get ports(): number[] {
    return [...this.serverPorts];
  }

  /**
   * Balance over these gateway ports from now on. Same number of gateways (a replacement on a new
   * port): the runtime API re-points the changed slots, and every open tunnel stays. Another number:
   * a graceful reload (the old worker keeps its open tunnels until hard_stop_after, then they drop
   * and their clients reconnect). Resolves once HAProxy lists exactly these ports.
   */
  async setServers(ports: number[], timeoutMs = 10_000): Promise<void> {
    if (ports.length === 0) throw new Error('haproxy: needs at least one gateway port');
    const before = this.serverPorts;
    this.serverPorts = [...ports];
    // The file always holds the current list: a restart or a later reload starts from it.
    writeFileSync(this.configPath, haproxyConfig(this.port, ports, this.socketPath, this.tls));
    if (before.length === ports.length) {
      for (let i = 0; i < ports.length; i++) {
        if (ports[i] === before[i]) continue;
        await runtimeCommand(this.socketPath, `set server gateways/gw${i} addr 127.0.0.1 port ${ports[i]}`);
      }
    } else {
      this.proc.signal('SIGUSR2');
    }
    const want = ports.join(',');
    await this.proc.waitReady(async () => (await this.servers()).map((s) => s.port).join(',') === want, timeoutMs);
  }

  /** Each gateway's state now, in config order. */
  async servers(): Promise<ServerState[]> {
    const text = await runtimeCommand(this.socketPath, 'show servers state gateways');
    return parseServersState(text);
  }

  /** Resolve when HAProxy's view of `port` is `up`; fail after `timeoutMs`. */
  async waitServer(port: number, up: boolean, timeoutMs: number): Promise<void> {
    await this.proc.waitReady(async () => (await this.servers()).some((s) => s.port === port && s.up === up), timeoutMs);
  }

  /**
   * The worker that carries the traffic (the master only supervises): its pid for CPU and memory
   * figures; the newest one while a reload's old worker finishes. 0 when there is none.
   */
  get workerPid(): number {
    try {
      const children = readFileSync(`/proc/${this.proc.pid}/task/${this.proc.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
      return Number(children[children.length - 1] ?? 0);
    } catch {
      return 0;
    }
  }

  /** kill -9 then start again on the same port and config. */
  async restart(): Promise<void> {
    await this.proc.killAndRestart(() => haproxyAlive(this.port), 10_000);
  }

  async stop(): Promise<void> {
    await this.proc.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export function haproxyBinary(): string {
  return installedBinary('haproxy', 'haproxy', '/usr/sbin/haproxy');
}

export async function startHaproxy(opts: HaproxyOptions): Promise<HaproxyServer> {
  if (opts.serverPorts.length === 0) throw new Error('haproxy: needs at least one gateway port');
  const bin = haproxyBinary();
  const port = opts.port ?? (await freePort());
  const tls: TlsBind | null = opts.tls ? { port: opts.tls.port ?? (await freePort()), pemPath: opts.tls.pemPath, strictSni: opts.tls.strictSni ?? false } : null;
  const dir = mkdtempSync(join(tmpdir(), 'wa-haproxy-'));
  const cfg = join(dir, 'haproxy.cfg');
  writeFileSync(cfg, haproxyConfig(port, opts.serverPorts, join(dir, 'admin.sock'), tls));
  // Refuse a bad config with HAProxy's own words before starting anything.
  try {
    execFileSync(bin, ['-c', '-q', '-f', cfg], { encoding: 'utf8', stdio: 'pipe' });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`haproxy: invalid config ${cfg}: ${(err as { stderr?: string }).stderr ?? (err as Error).message}`);
  }
  const proc = new ManagedProcess({ name: 'haproxy', command: bin, args: ['-W', '-f', cfg], cwd: dir, verbose: opts.verbose }).start();
  const server = new HaproxyServer(proc, port, dir, [...opts.serverPorts], tls);
  try {
    await proc.waitReady(() => haproxyAlive(port), opts.startTimeoutMs ?? 10_000);
  } catch (err) {
    await server.stop();
    throw err;
  }
  return server;
}

/** The whole config: one HTTP frontend (WebSocket upgrades pass through as tunnels), one backend of gateways. */
export function haproxyConfig(port: number, serverPorts: number[], socketPath: string, tls: TlsBind | null = null): string {
  const c = HAPROXY_CHECK;
  const l = HAPROXY_LIMITS;
  const servers = serverPorts.map((p, i) => `  server gw${i} 127.0.0.1:${p} check`);
  return [
    'global',
    `  maxconn ${l.conns_max}`,
    `  hard-stop-after ${l.hard_stop_after_ms}ms`,
    `  stats socket ${socketPath} mode 600 level admin`,
    '',
    'defaults',
    '  mode http',
    `  maxconn ${l.conns_max}`,
    `  timeout connect ${l.connect_timeout_ms}ms`,
    '  timeout client 60s',
    '  timeout server 60s',
    '  timeout http-request 10s',
    `  timeout tunnel ${l.tunnel_timeout_ms}ms`,
    '  timeout client-fin 5s',
    // An upgrade whose gateway refused the connection (killed a moment ago) or answered 503 (draining,
    // not yet marked down) is retried on another gateway: the client never sees that window.
    '  retries 2',
    '  option redispatch 1',
    '  retry-on conn-failure empty-response response-timeout 503',
    '',
    'frontend clients',
    `  bind 127.0.0.1:${port}`,
    // HTTP/1.1 only (alpn): a WebSocket upgrade over TLS is the same HTTP/1.1 request as over TCP.
    ...(tls ? [`  bind 127.0.0.1:${tls.port} ssl crt ${tls.pemPath} alpn http/1.1${tls.strictSni ? ' strict-sni' : ''}`] : []),
    // HAProxy's own liveness, answered without a gateway.
    '  monitor-uri /haproxy-health',
    '  default_backend gateways',
    '',
    'backend gateways',
    '  balance leastconn',
    // A media upload session lives in the memory of the gateway that opened it (docs/design/022): its chunks and
    // progress queries go back there, keyed by the user's token (one table entry per uploading user, kept as long
    // as a session may idle: media_upload_idle_seconds). Everything else is balanced per request as before.
    `  stick-table type string len ${l.upload_stick_key_bytes} size ${l.upload_stick_entries} expire ${DEFAULT_MEDIA_LIMITS.media_upload_idle_seconds}s`,
    '  stick on req.hdr(authorization) if { path_beg /v1/media/uploads }',
    // The client's address for the gateways' per-source registration limit (they trust it from WA_TRUSTED_PROXIES only).
    '  option forwardfor',
    // HTTP/1.1 with a Host header: uWS does not answer HTTP/1.0 (HAProxy's default check) at all.
    '  option httpchk',
    '  http-check send meth GET uri /healthz ver HTTP/1.1 hdr Host gateway',
    '  http-check expect status 200',
    `  default-server inter ${c.inter_ms}ms fastinter ${c.inter_ms}ms downinter ${c.inter_ms}ms fall ${c.fall} rise ${c.rise}`,
    ...servers,
    '',
  ].join('\n');
}

/** Parse `show servers state <backend>` (format 1): srv_name is field 3, srv_op_state 5, srv_port 18. */
export function parseServersState(text: string): ServerState[] {
  const out: ServerState[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#') || /^\d+$/.test(line.trim())) continue;
    const f = line.trim().split(/\s+/);
    if (f.length < 19) continue;
    out.push({ name: f[3]!, up: f[5] === '2', port: Number(f[18]) });
  }
  return out;
}

/** One command on HAProxy's runtime API (a unix socket); resolves with its answer. */
export function runtimeCommand(socketPath: string, command: string, timeoutMs = 2000): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = createConnection(socketPath);
    let buf = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`haproxy runtime API: no answer to "${command}" in ${timeoutMs} ms`));
    }, timeoutMs);
    sock.on('connect', () => sock.write(`${command}\n`));
    sock.on('data', (d) => (buf += d.toString()));
    sock.on('end', () => {
      clearTimeout(timer);
      resolve(buf);
    });
    sock.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** GET /haproxy-health answers 200 once HAProxy accepts connections. */
export async function haproxyAlive(port: number): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/haproxy-health`, { signal: AbortSignal.timeout(1000) });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}
