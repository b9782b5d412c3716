// The TLS cost bench (bench/loadgen-tls-cost.ts) runs end to end in its
// smallest form: a real system, HAProxy terminating TLS with the certificate
// the bench makes, both transports' messages all acknowledged and delivered,
// and its JSON holds a per-message figure for each. No speed is judged here
// (the figures are the bench's to print).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DIST_DIR } from '../server/common/paths';
import { runNode } from './helpers/run-node';

test('bench loadgen-tls-cost: ws and wss rounds through HAProxy complete and report CPU per message', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wa-tls-bench-'));
  try {
    const json = join(dir, 'out.json');
    const r = await runNode(join(DIST_DIR, 'bench', 'loadgen-tls-cost.js'), ['--pairs', '2', '--messages', '100', '--rate', '200', '--rounds', '1', '--json', json],
      { timeoutMs: 90_000, name: 'loadgen-tls-cost' });
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /TLS costs +-?\d+\.\d µs\/message/);
    const out = JSON.parse(readFileSync(json, 'utf8')) as { rounds: { transport: string; messages: number; us_per_message: number }[]; us_per_message: Record<string, number> };
    assert.deepEqual(out.rounds.map((x) => [x.transport, x.messages]), [['ws', 100], ['wss', 100]]);
    for (const k of ['ws', 'wss']) assert.ok(out.us_per_message[k]! > 0, `${k}: ${out.us_per_message[k]}`);
    const bad = await runNode(join(DIST_DIR, 'bench', 'loadgen-tls-cost.js'), ['--pairs', '501'], { timeoutMs: 30_000, name: 'bad flag' });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /--pairs must be an integer within 1\.\.500/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
