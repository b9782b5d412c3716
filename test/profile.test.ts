// `make profile`: the chat service runs under clinic doctor and clinic flame
// while a short smoke scenario runs against it, and each tool's HTML report
// lands in the run's results folder (the process must exit cleanly on SIGINT
// for clinic to write anything, so this also proves the shutdown path).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { runNode, type NodeRun } from './helpers/run-node';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const PROFILE = join(__dirname, '..', 'tools', 'profiler', 'cli.js');
const RUN_TIMEOUT_MS = 300_000;
/** A real clinic report embeds its visualiser and data: hundreds of KiB. */
const REPORT_BYTES_MIN = 100_000;

describe('profile', () => {
  let dir: string;
  let result: { code: number; stdout: string; stderr: string; ms: number };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'profile-'));
    result = await runNode(PROFILE, ['smoke', '--duration', '3s', '--out', dir], {
      env: { ...process.env, NO_INSIGHT: '1' }, timeoutMs: RUN_TIMEOUT_MS, name: 'profile',
    });
    console.log(`# profile smoke --duration 3s: exit ${result.code} in ${(result.ms / 1000).toFixed(1)} s\n${result.stdout.replace(/^/gm, '# ')}`);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const tool of ['doctor', 'flame']) {
    test(`clinic ${tool} writes a non-trivial HTML report of the chat service into profile/${tool}/`, () => {
      assert.equal(result.code, 0, result.stderr);
      const toolDir = join(dir, 'profile', tool);
      const reports = readdirSync(toolDir).filter((f) => f.endsWith(`.clinic-${tool}.html`));
      assert.equal(reports.length, 1, `${toolDir}: ${readdirSync(toolDir).join(', ')}`);
      const file = join(toolDir, reports[0]!);
      assert.ok(statSync(file).size > REPORT_BYTES_MIN, `${file}: ${statSync(file).size} bytes`);
      const html = readFileSync(file, 'utf8');
      assert.match(html.slice(0, 2000), /<html|<!DOCTYPE html>/i);
      assert.match(html, new RegExp(`clinic[- ]${tool}`, 'i'));
      // The scenario ran against the profiled system and its results sit beside the report.
      const summary = JSON.parse(readFileSync(join(dir, tool, 'summary.json'), 'utf8')) as { metrics: Record<string, { values: { count: number } }> };
      assert.ok(summary.metrics.messages_delivered!.values.count > 0);
    });
  }

  test('profile.json lists both reports', () => {
    assert.ok(existsSync(join(dir, 'profile.json')));
    const p = JSON.parse(readFileSync(join(dir, 'profile.json'), 'utf8')) as { reports: { tool: string; html: string }[] };
    assert.deepEqual(p.reports.map((r) => r.tool).sort(), ['doctor', 'flame']);
  });
});
