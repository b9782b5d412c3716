// `make profile-cost` ("where the µs go", issue 14): the bucketing of a V8 cpu
// profile, and a real short run whose three processes are profiled and whose
// tables add up to the CPU per message run-pairs measured.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bucketOf, pidOfProfileFile, roleOf, STARTUP, totalsOf, type CpuProfile } from '../tools/profiler/cpu-profile';
import { runNode } from './helpers/run-node';

const COST_TABLE = join(__dirname, '..', 'tools', 'profiler', 'cost-table.js');

describe('cpu profile buckets', () => {
  test('each frame lands in the bucket of its code', () => {
    assert.equal(bucketOf('(garbage collector)', ''), 'GC');
    assert.equal(bucketOf('ClientFrame$decode', ''), 'npm protobufjs (generated codecs)');
    assert.equal(bucketOf('wrapSafe', 'node:internal/modules/cjs/loader'), STARTUP);
    assert.equal(bucketOf('x', 'file:///r/node_modules/@grpc/grpc-js/build/src/call.js'), 'npm @grpc/grpc-js');
    assert.equal(bucketOf('run', '/r/node_modules/better-sqlite3/lib/methods/transaction.js'), 'npm better-sqlite3');
    assert.equal(bucketOf('flush', 'file:///r/dist/server/gateway/socket-writer.js'), 'ours server/gateway');
    assert.equal(bucketOf('push', 'file:///r/dist/lib/turn-batcher.js'), 'ours lib');
    assert.equal(bucketOf('onStreamRead', 'node:internal/http2/core'), 'node http2');
  });

  test('self time per bucket and function; idle and startup apart', () => {
    const frame = (functionName: string, url: string) => ({ functionName, url, lineNumber: 0 });
    const profile: CpuProfile = {
      nodes: [
        { id: 1, callFrame: frame('(idle)', '') }, { id: 2, callFrame: frame('flush', 'file:///r/dist/server/gateway/w.js') },
        { id: 3, callFrame: frame('(garbage collector)', '') }, { id: 4, callFrame: frame('wrapSafe', 'node:internal/modules/cjs/loader') },
      ],
      samples: [1, 2, 2, 3, 4, 1],
      timeDeltas: [100, 10, 20, 5, 7, 50],
    };
    const t = totalsOf(profile);
    assert.equal(t.idleUs, 150);
    assert.equal(t.busyUs, 42);
    assert.equal(t.buckets.get('ours server/gateway'), 30);
    assert.equal(t.buckets.get(STARTUP), 7);
    assert.equal([...t.functions.keys()].some((f) => f.startsWith('wrapSafe')), false, 'startup is not a top function');
    assert.equal(roleOf(profile), 'gateway');
    assert.equal(pidOfProfileFile('CPU.20261206.140608.14028.1.002.cpuprofile'), 14028);
    assert.equal(pidOfProfileFile('notes.txt'), null);
  });
});

describe('make profile-cost: a real short run', () => {
  let dir: string;
  let report: {
    delivered: number;
    tables: { role: string; cpu_us_per_msg: number; buckets: { bucket: string; us_per_msg: number }[]; top: unknown[] }[];
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cost-table-'));
    const r = await runNode(COST_TABLE, ['--rate', '400', '--duration', '3', '--users', '20', '--out', dir], { timeoutMs: 180_000, name: 'cost-table' });
    console.log(`# cost-table --rate 400 --duration 3: exit ${r.code} in ${(r.ms / 1000).toFixed(1)} s\n${r.stdout.replace(/^/gm, '# ')}`);
    assert.equal(r.code, 0, r.stderr);
    report = JSON.parse(readFileSync(join(dir, 'cost-table.json'), 'utf8'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('a table for each of the three processes, adding up to its measured CPU per message', () => {
    assert.ok(report.delivered >= 1000, `${report.delivered} delivered`);
    assert.deepEqual(report.tables.map((t) => t.role).sort(), ['chat', 'gateway', 'loadgen']);
    for (const t of report.tables) {
      assert.ok(t.cpu_us_per_msg > 0, `${t.role}: CPU per message measured`);
      const sum = t.buckets.reduce((s, b) => s + b.us_per_msg, 0);
      assert.ok(Math.abs(sum - t.cpu_us_per_msg) < 0.01 * t.cpu_us_per_msg, `${t.role}: buckets sum to ${sum}, measured ${t.cpu_us_per_msg}`);
      assert.ok(t.top.length > 0);
    }
  });

  test('each process\'s own code shows in its table', () => {
    const has = (role: string, bucket: string) => report.tables.find((t) => t.role === role)!.buckets.some((b) => b.bucket === bucket && b.us_per_msg > 0);
    assert.ok(has('chat', 'ours server/chat'), 'the chat engine in the chat table');
    assert.ok(has('gateway', 'ours server/gateway'), 'the gateway in the gateway table');
    assert.ok(has('loadgen', 'ours loadgen/client'), 'the client in the generator table');
  });
});
