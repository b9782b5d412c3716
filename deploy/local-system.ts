// Starts the system as real processes: one chat service, then N gateways, each
// a child process of the caller, on loopback. `make run`, the tests and the
// benchmarks all use it, so they exercise exactly what an operator runs.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '../lib/async';
import { processCpuSeconds, processRssBytes } from '../lib/proc-cpu';
import { DIST_DIR } from '../server/common/paths';
import { newSecret } from '../server/common/token';

export { waitFor };

export interface SystemOptions {
  /** Where the embedded store lives; a fresh temp dir when omitted. */
  dataDir?: string;
  gateways?: number;
  /** Extra environment for both processes (limits: WA_<LIMIT>). */
  env?: Record<string, string>;
  /** The build whose server processes run (default: this checkout's dist/): the timed A/B gate runs a baseline commit's. */
  distDir?: string;
  /** Fixed ports (0 = any free port). */
  chatPort?: number;
  gatewayPort?: number;
  /** Print the processes' output. */
  verbose?: boolean;
  startTimeoutMs?: number;
  /** Extra node flags for the server processes (e.g. --cpu-prof); also read from WA_NODE_ARGS. */
  nodeArgs?: string[];
  /** Run the chat service and/or the gateways under a wrapper command (a profiler). */
  wrap?: { chat?: WrapCommand; gateway?: WrapCommand };
  /** How long stop() waits for a process to exit before SIGKILL (default 5 s; wrapped: 120 s). */
  stopTimeoutMs?: number;
}

/**
 * A wrapper (a profiler such as `clinic doctor --dest d --`): the process is spawned as
 * `<argv...> <node> <nodeArgs> <script>` in its own process group (in `cwd` when given: profilers
 * drop files in their working directory, and two of them must not share one), and stopped like
 * Ctrl-C does: SIGINT to the whole group, so the process exits cleanly and the wrapper writes its
 * output, waiting up to `stopTimeoutMs`.
 */
export interface WrapCommand {
  argv: string[];
  cwd?: string;
}

export interface RunningProcess {
  name: string;
  child: ChildProcess;
  output: string[];
}

export class RunningSystem {
  chatTarget = '';
  chatPort = 0;
  /** The chat service's /metrics port (gateways serve /metrics on their own port). */
  chatMetricsPort = 0;
  gatewayPorts: number[] = [];
  chat!: RunningProcess;
  gateways: RunningProcess[] = [];

  constructor(readonly opts: Required<Pick<SystemOptions, 'dataDir'>> & SystemOptions, readonly secret: string) {}

  get gatewayUrl(): string {
    return `ws://127.0.0.1:${this.gatewayPorts[0]}/v1/ws`;
  }

  /** Where the chat service's file code sender writes registration codes (WA_CODE_SENDER=file, the default). */
  get codesFile(): string {
    return this.opts.env?.WA_CODE_FILE ?? join(this.opts.dataDir, 'verification-codes.log');
  }

  gatewayHttp(i = 0): string {
    return `http://127.0.0.1:${this.gatewayPorts[i]}`;
  }

  baseEnv(): NodeJS.ProcessEnv {
    // A launcher of tests and load runs: the bulk provisioning path is on (WA_LOADTEST_PROVISIONING, a test aid the
    // production processes leave off); registration codes go to <dataDir>/verification-codes.log (codesFile).
    return { ...process.env, WA_DATA_DIR: this.opts.dataDir, WA_TOKEN_SECRET: this.secret, WA_LOADTEST_PROVISIONING: '1', ...this.opts.env };
  }

  /** Output of chat-service processes that were killed or restarted. */
  readonly previousChatOutputs: string[][] = [];

  async startChat(): Promise<void> {
    if (this.chat) this.previousChatOutputs.push(this.chat.output);
    // After the first start the port is fixed, so gateways find a restarted chat service.
    const port = this.chatPort || this.opts.chatPort || 0;
    // The metrics port: any free one unless the caller fixed it; a restarted chat service keeps its port (same scrape target).
    const metricsPort = this.chatMetricsPort || this.opts.env?.WA_CHAT_METRICS_PORT || '0';
    this.chat = spawnNode('chat', join(this.opts.distDir ?? DIST_DIR, 'server/chat/main.js'),
      { ...this.baseEnv(), WA_CHAT_PORT: String(port), WA_CHAT_METRICS_PORT: String(metricsPort) }, this.opts.verbose, this.nodeArgs(), this.opts.wrap?.chat);
    const line = await waitForLine(this.chat, /chat listening [^:]+:(\d+)/, this.opts.startTimeoutMs ?? 15_000);
    this.chatPort = Number(line[1]);
    this.chatTarget = `127.0.0.1:${this.chatPort}`;
    this.chatMetricsPort = Number((await waitForLine(this.chat, /chat metrics listening (\d+)/, 1000))[1]);
  }

  /** Every process's /metrics URL, for scrapers and tests. */
  metricsUrls(): { chat: string; gateways: string[] } {
    return {
      chat: `http://127.0.0.1:${this.chatMetricsPort}/metrics`,
      gateways: this.gatewayPorts.map((p) => `http://127.0.0.1:${p}/metrics`),
    };
  }

  /**
   * With WA_PROM_SD_DIR set (scripts/prometheus.sh prints it), write Prometheus
   * file_sd target files for this system's processes (<dir>/wa-chat/<pid>-<port>.json,
   * <dir>/wa-gateway/<pid>-<port>.json), so a running Prometheus finds ephemeral ports.
   */
  writePromTargets(): void {
    const dir = process.env.WA_PROM_SD_DIR;
    if (!dir) return;
    const write = (job: string, targets: string[]) => {
      mkdirSync(join(dir, job), { recursive: true });
      writeFileSync(join(dir, job, this.promTargetsFile()), JSON.stringify([{ targets, labels: {} }]));
    };
    write('wa-chat', [`127.0.0.1:${this.chatMetricsPort}`]);
    write('wa-gateway', this.gatewayPorts.map((p) => `127.0.0.1:${p}`));
  }

  private removePromTargets(): void {
    const dir = process.env.WA_PROM_SD_DIR;
    if (!dir) return;
    for (const job of ['wa-chat', 'wa-gateway']) rmSync(join(dir, job, this.promTargetsFile()), { force: true });
  }

  /** One file per system (a process may run several): the chat port is fixed after the first start. */
  private promTargetsFile(): string {
    return `${process.pid}-${this.chatPort}.json`;
  }

  async startGateway(i: number): Promise<void> {
    const port = this.gatewayPorts[i] || (i === 0 ? this.opts.gatewayPort ?? 0 : 0);
    const gw = spawnNode(`gateway-${i}`, join(this.opts.distDir ?? DIST_DIR, 'server/gateway/main.js'), {
      ...this.baseEnv(), WA_GATEWAY_PORT: String(port), WA_CHAT_TARGET: this.chatTarget, WA_GATEWAY_ID: `gw-${i}`,
    }, this.opts.verbose, this.nodeArgs(), this.opts.wrap?.gateway);
    const line = await waitForLine(gw, /gateway listening [^:]+:(\d+)/, this.opts.startTimeoutMs ?? 15_000);
    this.gateways[i] = gw;
    this.gatewayPorts[i] = Number(line[1]);
    await waitFor(async () => (await this.health(i)).chat_link === 'up', 10_000, `gateway-${i} chat link`);
  }

  private nodeArgs(): string[] {
    const fromEnv = (process.env.WA_NODE_ARGS ?? '').split(' ').filter(Boolean);
    return [...(this.opts.nodeArgs ?? []), ...fromEnv];
  }

  async health(i = 0): Promise<{ status: string; uws: string; uws_binary: string; chat_link: string; connections: number }> {
    const res = await fetch(`${this.gatewayHttp(i)}/healthz`);
    return (await res.json()) as never;
  }

  /** SIGKILL the chat service and wait until it is gone. */
  async killChat(): Promise<void> {
    await killAndWait(this.chat.child, 'SIGKILL');
    // Wait until every gateway has noticed, so a later "link up" means the new process.
    for (let i = 0; i < this.gateways.length; i++) {
      await waitFor(async () => (await this.health(i)).chat_link === 'down', 10_000, `gateway-${i} to notice the chat service is gone`);
    }
  }

  /** SIGKILL gateway i; its clients see their sockets drop. */
  async killGateway(i = 0): Promise<void> {
    await killAndWait(this.gateways[i]!.child, 'SIGKILL');
  }

  /**
   * SIGTERM gateway i: it drains (503 on /healthz and to upgrades for up to gateway_drain_ms), closes
   * its sockets with 1001 and exits; resolves with its exit code.
   */
  async drainGateway(i = 0): Promise<number | null> {
    const child = this.gateways[i]!.child;
    await killAndWait(child, 'SIGTERM', 30_000);
    return child.exitCode;
  }

  /**
   * Start gateway i again, on a new port: its old port may still be held by
   * connections the killed process left behind (a replacement gateway behind
   * the load balancer gets a new address too).
   */
  async restartGateway(i = 0): Promise<void> {
    this.gatewayPorts[i] = 0;
    await this.startGateway(i);
    this.writePromTargets();
  }

  /** SIGSTOP the chat service: frozen (its sockets stay open, nothing answers) until resumeChat(). */
  pauseChat(): void {
    signalChild(this.chat.child, 'SIGSTOP');
  }

  resumeChat(): void {
    signalChild(this.chat.child, 'SIGCONT');
  }

  /** SIGSTOP gateway i until resumeGateway(i): its clients' sockets stay open and hear nothing. */
  pauseGateway(i = 0): void {
    signalChild(this.gateways[i]!.child, 'SIGSTOP');
  }

  resumeGateway(i = 0): void {
    signalChild(this.gateways[i]!.child, 'SIGCONT');
  }

  /** Graceful stop of the chat service (SIGTERM; SIGCONT first in case it is paused). */
  async stopChat(): Promise<void> {
    signalChild(this.chat.child, 'SIGCONT');
    await killAndWait(this.chat.child, 'SIGTERM', this.opts.stopTimeoutMs);
  }

  /** Graceful stop of gateway i (SIGTERM; SIGCONT first in case it is paused). */
  async stopGateway(i = 0): Promise<void> {
    signalChild(this.gateways[i]!.child, 'SIGCONT');
    await killAndWait(this.gateways[i]!.child, 'SIGTERM', this.opts.stopTimeoutMs);
  }

  async restartChat(): Promise<void> {
    await this.startChat();
    for (let i = 0; i < this.gateways.length; i++) {
      await waitFor(async () => (await this.health(i)).chat_link === 'up', 15_000, `gateway-${i} relink`);
    }
  }

  /** The processes by name ("chat", "gateway-0", ...), with their pids. */
  pids(): [string, number][] {
    const out: [string, number][] = [];
    if (this.chat?.child.pid) out.push(['chat', this.chat.child.pid]);
    this.gateways.forEach((g, i) => {
      if (g.child.pid) out.push([`gateway-${i}`, g.child.pid]);
    });
    return out;
  }

  /** CPU seconds used so far by each process (0 for one that is gone). */
  cpuSeconds(): Record<string, number> {
    return Object.fromEntries(this.pids().map(([name, pid]) => [name, processCpuSeconds(pid) ?? 0]));
  }

  /** Resident set size of each process. */
  rssBytes(): Record<string, number | null> {
    return Object.fromEntries(this.pids().map(([name, pid]) => [name, processRssBytes(pid)]));
  }

  /** Graceful stop; returns each process's last output lines (stats). */
  async stop(): Promise<Record<string, string[]>> {
    this.removePromTargets();
    const out: Record<string, string[]> = {};
    // A wrapped process (a profiler) stops like Ctrl-C (SIGINT to its group) and may take a while to write its output.
    const stopOne = (child: ChildProcess, w?: WrapCommand, signal: NodeJS.Signals = 'SIGTERM') => (w
      ? killAndWait(child, 'SIGINT', this.opts.stopTimeoutMs ?? 120_000, true)
      : killAndWait(child, signal, this.opts.stopTimeoutMs));
    for (const g of this.gateways) {
      // SIGINT closes a gateway's sockets at once; SIGTERM would drain first (drainGateway).
      await stopOne(g.child, this.opts.wrap?.gateway, 'SIGINT');
      out[g.name] = g.output;
    }
    if (this.chat) {
      await stopOne(this.chat.child, this.opts.wrap?.chat);
      out.chat = this.chat.output;
    }
    return out;
  }
}

export async function startSystem(opts: SystemOptions = {}): Promise<RunningSystem> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'wa-data-'));
  mkdirSync(dataDir, { recursive: true });
  const system = new RunningSystem({ ...opts, dataDir }, opts.env?.WA_TOKEN_SECRET ?? newSecret());
  try {
    await system.startChat();
    for (let i = 0; i < (opts.gateways ?? 1); i++) await system.startGateway(i);
    system.writePromTargets();
  } catch (err) {
    await system.stop().catch(() => {});
    throw err;
  }
  return system;
}

function spawnNode(name: string, script: string, env: NodeJS.ProcessEnv, verbose = false, nodeArgs: string[] = [],
  wrap?: WrapCommand): RunningProcess {
  const argv = [...(wrap?.argv ?? []), process.execPath, ...nodeArgs, script];
  const child = spawn(argv[0]!, argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'], detached: wrap !== undefined, cwd: wrap?.cwd });
  const proc: RunningProcess = { name, child, output: [] };
  const onData = (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) {
      if (!line) continue;
      proc.output.push(line);
      if (proc.output.length > 200) proc.output.shift();
      if (verbose) console.log(`[${name}] ${line}`);
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  return proc;
}

function waitForLine(proc: RunningProcess, re: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    const check = () => {
      for (const line of proc.output) {
        const m = re.exec(line);
        if (m) return done(null, m);
      }
    };
    const timer = setTimeout(() => done(new Error(`${proc.name} did not start in ${timeoutMs} ms:\n${proc.output.join('\n')}`)), timeoutMs);
    const onData = () => setImmediate(check);
    const onExit = (code: number | null) => done(new Error(`${proc.name} exited (${code}) before starting:\n${proc.output.join('\n')}`));
    const done = (err: Error | null, m?: RegExpMatchArray) => {
      clearTimeout(timer);
      proc.child.stdout!.off('data', onData);
      proc.child.off('close', onExit);
      if (err) reject(err);
      else resolve(m!);
    };
    proc.child.stdout!.on('data', onData);
    // 'close', not 'exit': by then stdout/stderr are fully read, so the error shows the child's last words.
    proc.child.on('close', onExit);
    check();
  });
}

/** Send a signal to a child that may have exited already. */
function signalChild(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.exitCode !== null || child.signalCode !== null) return;
  try {
    child.kill(signal);
  } catch {
    // already gone
  }
}

/** Signal `child` (with `group`, its whole process group, as a terminal's Ctrl-C does) and wait for it to exit. */
async function killAndWait(child: ChildProcess, signal: NodeJS.Signals, timeoutMs = 5000, group = false): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const send = (sig: NodeJS.Signals) => {
    try {
      if (group && child.pid) process.kill(-child.pid, sig);
      else child.kill(sig);
    } catch {
      // already gone
    }
  };
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => send('SIGKILL'), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    send(signal);
  });
}
