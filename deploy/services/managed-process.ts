// One child process the project starts for itself (etcd, Redis, HAProxy, a
// chat node, a gateway): its last lines of output, readiness, and the faults a
// test or scenario may inject (kill -9, SIGSTOP/SIGCONT, a clean stop, a
// restart with the same arguments).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';

export interface ProcessSpec {
  /** A short name for logs and errors: "etcd", "redis", "chat-1". */
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Print every output line prefixed with the name. */
  verbose?: boolean;
}

const OUTPUT_LINES_KEPT = 300;

export class ManagedProcess {
  child!: ChildProcess;
  readonly output: string[] = [];
  /** Exits seen so far (restarts keep counting). */
  exits = 0;
  private stopped = false;

  constructor(readonly spec: ProcessSpec) {}

  get pid(): number {
    return this.child.pid ?? 0;
  }

  get running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  start(): this {
    const { command, args, env, cwd, name, verbose } = this.spec;
    this.stopped = false;
    this.child = spawn(command, args, { env: env ?? process.env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const onData = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) {
        if (!line) continue;
        this.output.push(line);
        if (this.output.length > OUTPUT_LINES_KEPT) this.output.shift();
        if (verbose) console.log(`[${name}] ${line}`);
      }
    };
    this.child.stdout!.on('data', onData);
    this.child.stderr!.on('data', onData);
    this.child.on('exit', () => this.exits++);
    this.child.on('error', (err) => this.output.push(`spawn failed: ${err.message}`));
    return this;
  }

  /** Resolve when `ready()` is true; fail with the process's last lines when it exits first or time runs out. */
  async waitReady(ready: () => Promise<boolean> | boolean, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!this.running) throw new Error(`${this.spec.name} exited (${this.child.exitCode ?? this.child.signalCode}) before it was ready:\n${this.tail()}`);
      try {
        if (await ready()) return;
      } catch {
        // not yet
      }
      if (Date.now() > deadline) throw new Error(`${this.spec.name} was not ready in ${timeoutMs} ms:\n${this.tail()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Resolve with the first output line matching `re` (lines already printed count). */
  waitForLine(re: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      let done = false;
      const finish = (err: Error | null, m?: RegExpMatchArray) => {
        if (done) return;
        done = true;
        clearInterval(poll);
        clearTimeout(timer);
        if (err) reject(err);
        else resolve(m!);
      };
      const check = () => {
        for (const line of this.output) {
          const m = re.exec(line);
          if (m) return finish(null, m);
        }
        if (!this.running) finish(new Error(`${this.spec.name} exited before printing ${re}:\n${this.tail()}`));
      };
      const poll = setInterval(check, 20);
      const timer = setTimeout(() => finish(new Error(`${this.spec.name} did not print ${re} in ${timeoutMs} ms:\n${this.tail()}`)), timeoutMs);
      check();
    });
  }

  tail(lines = 30): string {
    return this.output.slice(-lines).join('\n');
  }

  signal(sig: NodeJS.Signals): void {
    if (!this.running) return;
    try {
      this.child.kill(sig);
    } catch {
      // already gone
    }
  }

  /** kill -9 and wait for the exit. */
  async kill(): Promise<void> {
    await this.signalAndWait('SIGKILL', 5000);
  }

  /** SIGSTOP: the process is frozen (its sockets stay open, nothing answers) until resume(). */
  pause(): void {
    this.signal('SIGSTOP');
  }

  resume(): void {
    this.signal('SIGCONT');
  }

  /** SIGTERM (SIGCONT first, in case it is paused), SIGKILL after `timeoutMs`. */
  async stop(timeoutMs = 5000): Promise<void> {
    this.stopped = true;
    this.resume();
    await this.signalAndWait('SIGTERM', timeoutMs);
  }

  /** kill -9, start again with the same command, and wait until `ready()` (a service restarted in place). */
  async killAndRestart(ready: () => Promise<boolean> | boolean, timeoutMs: number): Promise<void> {
    await this.kill();
    this.restart();
    await this.waitReady(ready, timeoutMs);
  }

  /** Start again with the same command, arguments and environment. */
  restart(): this {
    if (this.running) throw new Error(`${this.spec.name} is still running`);
    return this.start();
  }

  get wasStopped(): boolean {
    return this.stopped;
  }

  private async signalAndWait(sig: NodeJS.Signals, timeoutMs: number): Promise<void> {
    if (!this.child || !this.running) return;
    const child = this.child;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        try {
          child.kill('SIGKILL');
        } catch {
          // gone
        }
      }, timeoutMs);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      try {
        child.kill(sig);
      } catch {
        clearTimeout(timer);
        resolve();
      }
    });
  }
}

/**
 * The path of an installed program: `name` on the PATH, else `fallback` (Debian puts some daemons in
 * /usr/sbin, outside a plain user's PATH). Throws with the Debian package to install.
 */
export function installedBinary(name: string, debianPackage: string, fallback = ''): string {
  try {
    const script = fallback ? `command -v ${name} || ls ${fallback}` : `command -v ${name}`;
    return execFileSync('sh', ['-c', script], { encoding: 'utf8' }).trim().split('\n')[0]!;
  } catch {
    throw new Error(`${name} is not installed: run \`bash scripts/setup.sh\` (apt-get install ${debianPackage})`);
  }
}
