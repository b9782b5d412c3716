// Run one of our compiled scripts (the loadgen CLI, the perf gate, the profiler) as a child
// process, collect its output, and kill it if it outlives the test's bound.
import { spawn } from 'node:child_process';

export interface NodeRun {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface RunNodeOptions {
  /** Rejects (after SIGKILL) if the process is still running after this long. */
  timeoutMs: number;
  /** What the timeout error calls it. */
  name: string;
  cwd?: string;
  /** The whole environment of the child (default: this process's). */
  env?: NodeJS.ProcessEnv;
  /** Run node under this command (e.g. ['ip', 'netns', 'exec', ns]: it execs node, so the pid stays the one killed on timeout). */
  wrap?: string[];
  /** Called with everything written to stderr so far, on each chunk. */
  onStderr?: (stderr: string) => void;
}

export function runNode(script: string, args: string[], o: RunNodeOptions): Promise<NodeRun> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const argv = [...(o.wrap ?? []), process.execPath, script, ...args];
    const p = spawn(argv[0]!, argv.slice(1), { cwd: o.cwd, env: o.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d));
    p.stderr.on('data', (d: Buffer) => {
      stderr += d;
      o.onStderr?.(stderr);
    });
    const timer = setTimeout(() => {
      p.kill('SIGKILL');
      reject(new Error(`${o.name} did not finish in ${o.timeoutMs} ms\n${stderr}`));
    }, o.timeoutMs);
    p.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr, ms: Date.now() - started });
    });
  });
}
