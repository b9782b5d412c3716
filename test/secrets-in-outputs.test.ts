// Secrets never appear in an output file: the load generator is run against a
// real system with its token secret given as --secret, as --secret=..., and as
// WA_TOKEN_SECRET (also with --procs 2, whose shards write their own files),
// and every file under each run's output directory, and everything the CLI
// printed, is searched for the secret's value.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startSystem, type RunningSystem } from '../deploy/local-system';
import { redactArgv, scrub, REDACTED } from '../loadgen/outputs/redact';
import { runNode } from './helpers/run-node';

const CLI = join(__dirname, '..', 'loadgen', 'commands', 'cli.js');
const FIXTURE = 'test/fixtures/loadgen/scenarios/thresholds.ts';

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

describe('secrets never appear in any output file', () => {
  let sys: RunningSystem;
  let dir: string;

  before(async () => {
    sys = await startSystem({});
    dir = mkdtempSync(join(tmpdir(), 'wa-secrets-'));
  });
  after(async () => {
    await sys?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const cases: [string, (secret: string) => { args: string[]; env: Record<string, string> }][] = [
    ['--secret <value>', (s) => ({ args: ['--secret', s], env: {} })],
    ['--secret=<value>', (s) => ({ args: [`--secret=${s}`], env: {} })],
    ['WA_TOKEN_SECRET with --procs 2', (s) => ({ args: ['--procs', '2'], env: { WA_TOKEN_SECRET: s } })],
  ];
  for (const [i, [how, given]] of cases.entries()) {
    test(`a run given the secret as ${how} writes it nowhere`, { timeout: 90_000 }, async () => {
      const secret = sys.secret;
      assert.ok(secret.length >= 32, 'a generated secret');
      const out = join(dir, `run-${i}`);
      const { args, env } = given(secret);
      const r = await runNode(CLI, ['run', FIXTURE, '--target', sys.gatewayUrl, '--chat-target', sys.chatTarget, '--workers', '1',
        '--quiet', '--metrics-port', 'off', '--out', out, ...args], {
        cwd: join(__dirname, '..', '..'), env: { ...process.env, WA_TOKEN_SECRET: '', LG_SECONDS: '2', ...env }, timeoutMs: 80_000, name: `loadgen ${how}`,
      });
      assert.ok(r.code === 0 || r.code === 99, `the run ran (exit ${r.code}): ${r.stderr.slice(-2000)}`);
      const files = filesUnder(out);
      for (const f of ['summary.json', 'summary.txt', 'junit.xml', 'report.html']) assert.ok(files.some((p) => p.endsWith(f)), `${f} written`);
      for (const f of files) assert.equal(readFileSync(f, 'latin1').includes(secret), false, `the secret is in ${f}`);
      assert.equal(r.stdout.includes(secret) || r.stderr.includes(secret), false, 'the secret is in what the CLI printed');
      const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as { command: string };
      if (args.length > 0 && args[0]!.startsWith('--secret')) assert.match(summary.command, /--secret[ =]\[redacted\]/);
    });
  }

  test('redactArgv and scrub: both flag forms, and the value anywhere in any string or key', () => {
    assert.deepEqual(redactArgv(['run', 'x', '--secret', 'S', '--secret=T', '--scale', '1']), ['run', 'x', '--secret', REDACTED, `--secret=${REDACTED}`, '--scale', '1']);
    assert.deepEqual(scrub({ a: ['xSy', { S: 'S' }], n: 1 }, ['S']), { a: [`x${REDACTED}y`, { [REDACTED]: REDACTED }], n: 1 });
  });
});
