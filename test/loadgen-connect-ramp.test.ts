// connect-ramp in a short form (2,000 users, 10 s) against the real system the load generator
// starts (chat service, two uWS gateways, embedded store): its CONNECTIONS
// report exists and adds up (every connect attempt succeeded or failed with a
// reason, every user held), and its figures are there and consistent. Then
// against a port nobody listens on: every attempt fails, each with its reason.
// Timings are not judged here (a shared 2-core box); the scenario's thresholds are.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runNode } from './helpers/run-node';
import type { RunSummary } from '../loadgen/engine/summary';

const CLI = join(__dirname, '..', 'loadgen', 'commands', 'cli.js');
const RUN_TIMEOUT_MS = 90_000;
const USERS = 2000;

async function run(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number; summary: RunSummary; stdout: string; stderr: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'lg-connect-ramp-'));
  try {
    const r = await runNode(CLI, ['run', 'scenarios/connect-ramp.ts', '--quiet', '--out', dir, ...args],
      { cwd: join(__dirname, '..', '..'), timeoutMs: RUN_TIMEOUT_MS, name: 'connect-ramp', env });
    const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as RunSummary;
    return { code: r.code, summary, stdout: readFileSync(join(dir, 'summary.txt'), 'utf8'), stderr: r.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A loopback port with nothing listening on it (bound, then closed). */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

describe('connect-ramp', { timeout: 2 * RUN_TIMEOUT_MS + 30_000 }, () => {
  test(`${USERS} users (a short ramp): every connect accounted for, held through the hold, with connects/s, memory and idle CPU per side`, async () => {
    // An 8 s idle timeout at the gateways (uWS's least): connections opened in the first second and silent until the end at
    // 10 s outlive it only because the gateway's pings are answered (the generator sends no heartbeat of its own).
    // From one local source address, as a --procs child: every connect on a source port the generator picks.
    const { code, summary: s, stdout, stderr } = await run(['--users', String(USERS), '--duration', '10s', '--local-addresses', '127.0.1.1'],
      { ...process.env, WA_IDLE_TIMEOUT_SECONDS: '8' });
    // Idle CPU thresholds may fail on a loaded box (99); the accounting must not (it would also give 99: checked below).
    assert.ok(code === 0 || code === 99, `exit ${code}\n${stderr}`);
    const c = s.reports.connections!;
    assert.ok(c, 'a CONNECTIONS report');
    assert.equal(c.adds_up, true, JSON.stringify(c));
    assert.equal(c.users, USERS);
    assert.equal(c.attempted, c.ok + c.failed);
    assert.equal(Object.values(c.failed_by_reason).reduce((a, n) => a + n, 0), c.failed, 'every failure has a reason');
    assert.equal(c.failed, 0, `no connect failed here: ${JSON.stringify(c.failed_by_reason)}`);
    assert.equal(c.ok, USERS, 'every user connected and got its DrainDone');
    assert.equal(c.held, USERS, 'every connection still open at the end of the hold');
    assert.equal(s.metrics.disconnects_unexpected?.values.count ?? 0, 0, 'no connection closed by the gateway (idle timeout)');
    assert.equal(s.metrics.connect_time!.values.count, USERS, 'every connect was timed');
    assert.ok(c.connects_per_s_avg !== null && c.connects_per_s_avg > 0 && c.connects_per_s_peak > 0);
    assert.ok(c.connect_time_ms && c.drain_time_ms && c.connect_time_ms.p50 <= c.drain_time_ms.max, 'a connect ends before its DrainDone');
    assert.ok(c.hold.intervals >= 3, `the hold has whole intervals: ${c.hold.intervals}`);
    assert.ok(c.loadgen.bytes_per_connection !== null && c.loadgen.bytes_per_connection > 0, `generator: memory per connection ${c.loadgen.bytes_per_connection}`);
    // The gateways' RSS delta is measured, but a few thousand connections (~3 KB each) can sit inside their RSS noise
    // (a gateway gives back a few MiB of start-up garbage at its first GC): here only its presence is checked.
    assert.equal(c.gateways.bytes_per_connection, Math.round((c.gateways.rss_connected_bytes! - c.gateways.rss_start_bytes!) / c.held));
    for (const [name, side] of [['generator', c.loadgen], ['gateways', c.gateways], ['chat', c.chat]] as const) {
      assert.ok(side.idle_cpu_percent !== null && side.idle_cpu_percent >= 0 && side.idle_cpu_percent_per_10k !== null, `${name}: idle CPU measured`);
    }
    // The figures thresholds name are the report's.
    assert.equal(s.metrics.connects_per_s!.values.value, c.connects_per_s_avg);
    assert.equal(s.metrics.loadgen_idle_cpu_percent_per_10k!.values.value, c.loadgen.idle_cpu_percent_per_10k);
    assert.match(stdout, new RegExp(`CONNECTIONS .*\\n +✓ attempted ${USERS} = ok ${USERS} \\+ failed 0`));
    console.log(`# connect-ramp ${USERS}: ${c.connects_per_s_avg} connects/s avg, generator ${c.loadgen.bytes_per_connection} B/conn ` +
      `${c.loadgen.idle_cpu_percent_per_10k}%/10k idle, gateways ${c.gateways.bytes_per_connection} B/conn ${c.gateways.idle_cpu_percent_per_10k}%/10k idle`);
  });

  test('a target nobody listens on: every attempt fails with its reason, nothing is held, and the accounting still adds up', async () => {
    const port = await closedPort();
    const { code, summary: s } = await run(['--users', '20', '--duration', '6s', '--target', `ws://127.0.0.1:${port}/v1/ws`, '--secret', 'x'.repeat(32)]);
    assert.equal(code, 99, 'thresholds fail');
    const c = s.reports.connections!;
    assert.equal(c.adds_up, true, JSON.stringify(c));
    assert.equal(c.ok, 0);
    assert.ok(c.failed >= 20, `every user was tried at least once: ${c.failed}`);
    assert.deepEqual(Object.keys(c.failed_by_reason), ['connect_ECONNREFUSED']);
    assert.equal(c.failed_by_reason.connect_ECONNREFUSED, c.failed);
    assert.equal(c.held, 0);
    assert.equal(c.gateways.idle_cpu_percent, null, 'no system started: no gateway figures');
  });
});
