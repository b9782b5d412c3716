// The command line's contract with its user, without running a load: every
// flag a command's parser accepts is described by its --help (both come from
// one table), an unknown flag or a missing value exits 104 with the command's
// usage, an invalid scenario exits 104 with the usage line, and help works as
// `loadgen run --help`, `loadgen help run` and `-h`.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { join } from 'node:path';
import { COMMANDS, RUN_COMMAND } from '../loadgen/commands/command-specs';
import { helpText, parseOptionsOf } from '../loadgen/commands/flags';
import { runNode } from './helpers/run-node';

const CLI = join(__dirname, '..', 'loadgen', 'commands', 'cli.js');
const cli = (args: string[], env: NodeJS.ProcessEnv = process.env) =>
  runNode(CLI, args, { cwd: join(__dirname, '..', '..'), env, timeoutMs: 30_000, name: `loadgen ${args.join(' ')}` });

describe('loadgen command line', () => {
  test('each command\'s --help names every flag its parser accepts, with its value and meaning', async () => {
    for (const cmd of COMMANDS) {
      const parsed = Object.keys(parseOptionsOf(cmd));
      assert.deepEqual(parsed.sort(), cmd.flags.map((f) => f.name).sort(), `${cmd.name}: the parser takes exactly the table's flags`);
      const r = await cli([cmd.name, '--help']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.trim(), helpText(cmd));
      for (const f of cmd.flags) {
        const label = `${f.short ? `-${f.short}, ` : ''}--${f.name}${f.type === 'string' ? ' <' : ' '}`;
        const line = r.stdout.split('\n').find((l) => l.startsWith(`  ${label}`));
        assert.ok(line, `loadgen ${cmd.name} --help describes --${f.name}`);
        assert.ok(line.includes(f.help), `--${f.name}'s description is on its line`);
      }
    }
    // The flags the task asks for are there by name.
    const names = RUN_COMMAND.flags.map((f) => f.name);
    for (const n of ['target', 'ca-file', 'insecure-skip-tls-verify', 'token-file', 'register', 'verification-codes', 'summary-export', 'help']) {
      assert.ok(names.includes(n), `run has --${n}`);
    }
  });

  test('help three ways: run --help, help run, -h', async () => {
    const a = await cli(['run', '--help']);
    const b = await cli(['help', 'run']);
    const c = await cli(['run', '-h']);
    assert.equal(a.code, 0);
    assert.equal(a.stdout, b.stdout);
    assert.equal(a.stdout, c.stdout);
    assert.match(a.stdout, /^usage: loadgen run <scenario> \[flags\]/);
    assert.match(a.stdout, /105 stopped from outside \(SIGINT or SIGTERM/);
  });

  test('an unknown flag, a flag without its value, or no command: exit 104 with the usage', async () => {
    const unknown = await cli(['run', 'smoke', '--tagret', 'ws://127.0.0.1:1/v1/ws']);
    assert.equal(unknown.code, 104);
    assert.match(unknown.stderr, /^loadgen: run: Unknown option '--tagret'\n/);
    assert.match(unknown.stderr, /usage: loadgen run <scenario> \[flags\]/);
    assert.match(unknown.stderr, /--target <url\[,url\.\.\.\]>/);
    const noValue = await cli(['run', 'smoke', '--duration']);
    assert.equal(noValue.code, 104);
    assert.match(noValue.stderr, /--duration/);
    assert.match(noValue.stderr, /usage: loadgen run/);
    const mergeUnknown = await cli(['merge', '--nope']);
    assert.equal(mergeUnknown.code, 104);
    assert.match(mergeUnknown.stderr, /usage: loadgen merge/);
    const none = await cli([]);
    assert.equal(none.code, 104);
    assert.match(none.stderr, /usage: loadgen <command>/);
  });

  test('an invalid scenario or flag combination: exit 104 with the usage line, before anything starts', async () => {
    const bad = await cli(['run', 'test/fixtures/loadgen/scenarios/thresholds.ts', '--driver', 'bare', '--target', 'ws://127.0.0.1:9/v1/ws', '--metrics-port', 'off'],
      { ...process.env, LG_BAD_METRIC: '1' });
    assert.equal(bad.code, 104);
    assert.match(bad.stderr, /invalid configuration: .*no metric named "delivery_latencyy"/);
    assert.match(bad.stderr, /usage: loadgen run <scenario> \[flags\] {3}\(loadgen run --help lists every flag\)/);
    const cases: [string[], RegExp][] = [
      [['--target', 'http://127.0.0.1:9/v1/ws'], /--target http:\/\/127\.0\.0\.1:9\/v1\/ws: ws:\/\/ or wss:\/\/ only/],
      [['--target', 'ws://127.0.0.1:9/v1/ws', '--ca-file', '/nonexistent'], /apply to wss:\/\/ targets only/],
      [['--target', 'wss://127.0.0.1:9/v1/ws', '--ca-file', '/nonexistent/ca.pem'], /--ca-file \/nonexistent\/ca\.pem: ENOENT/],
      [['--target', 'ws://127.0.0.1:9/v1/ws', '--token-file', 'a', '--secret', 's'], /--secret and --token-file: one token provider at a time/],
      [['--target', 'ws://127.0.0.1:9/v1/ws', '--register'], /--register needs --verification-codes/],
      [['--token-file', 'a'], /--token-file is for --target systems/],
    ];
    for (const [flags, why] of cases) {
      const r = await cli(['run', 'smoke', '--metrics-port', 'off', ...flags]);
      assert.equal(r.code, 104, `${flags.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, why);
      assert.match(r.stderr, /usage: loadgen run/);
    }
  });
});
