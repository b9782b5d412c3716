// Remote targets and where their users' tokens come from, against a real
// system (chat service + gateway) and HAProxy terminating TLS, all on
// loopback; the generator never gets the system's secret here:
//   - a token file (plain and JSON lines), checked line by line;
//   - the registration flow (POST /v1/register/code, then /v1/register with the
//     code the local file sender wrote), over wss:// and https:// with --ca-file.
// No token reaches an output file or the CLI's output.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startSystem, type RunningSystem } from '../deploy/local-system';
import { startHaproxy, type HaproxyServer } from '../deploy/services/haproxy';
import { parseTokenList, readTokenFile, TokenFileError } from '../loadgen/identity/token-file';
import type { RunSummary } from '../loadgen/engine/summary';
import { mintToken } from '../server/common/token';
import { runNode } from './helpers/run-node';
import { provisionFresh } from './helpers/system';
import { makeTestCerts, type TestCerts } from './helpers/test-certs';

const CLI = join(__dirname, '..', 'loadgen', 'commands', 'cli.js');
const FIXTURE = 'test/fixtures/loadgen/scenarios/thresholds.ts';
const USERS = 4;

/** Every file under `dir` (the run's outputs), as text. */
function filesUnder(dir: string): { path: string; text: string }[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [{ path, text: readFileSync(path, 'utf8') }];
  });
}

describe('token providers against a real system', () => {
  let sys: RunningSystem;
  let hp: HaproxyServer;
  let certs: TestCerts;
  let dir: string;
  const env = (): NodeJS.ProcessEnv => {
    const e: NodeJS.ProcessEnv = { ...process.env, LG_SECONDS: '2' };
    delete e.WA_TOKEN_SECRET; // the generator must not know the system's secret
    return e;
  };
  const run = (out: string, flags: string[]) => runNode(CLI, ['run', FIXTURE, '--users', String(USERS), '--workers', '1', '--quiet',
    '--metrics-port', 'off', '--out', join(dir, out), ...flags], { cwd: join(__dirname, '..', '..'), env: env(), timeoutMs: 90_000, name: `loadgen run (${out})` });

  before(async () => {
    certs = makeTestCerts();
    dir = mkdtempSync(join(tmpdir(), 'lg-tokens-'));
    sys = await startSystem({ gateways: 1 });
    hp = await startHaproxy({ serverPorts: sys.gatewayPorts, tls: { pemPath: certs.serverPemPath } });
    await hp.waitServer(sys.gatewayPorts[0]!, true, 5000);
  });
  after(async () => {
    await hp?.stop();
    await sys?.stop();
    certs?.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  function assertClean(out: string, r: { stdout: string; stderr: string }, tokens: string[]): void {
    const files = filesUnder(join(dir, out));
    assert.ok(files.length >= 4, 'summary.json, summary.txt, junit.xml, report.html');
    for (const t of tokens) {
      for (const f of files) assert.ok(!f.text.includes(t), `a token leaked into ${f.path}`);
      assert.ok(!r.stdout.includes(t) && !r.stderr.includes(t), 'a token leaked into the CLI output');
    }
    for (const f of files) assert.ok(!f.text.includes(sys.secret), `the system secret in ${f.path}`);
  }

  test('--token-file (users registered beforehand, plain and JSON lines): the run delivers everything, no token in any output', async () => {
    const ids = await provisionFresh(sys, USERS);
    const tokens = ids.map((id) => mintToken(sys.secret, id, 3600));
    const file = join(dir, 'tokens.txt');
    writeFileSync(file, ['# user_id token', ...ids.map((id, i) => (i % 2 === 0 ? `${id} ${tokens[i]}` : JSON.stringify({ user_id: id, token: tokens[i] }))), ''].join('\n'));
    const r = await run('file', ['--target', sys.gatewayUrl, '--token-file', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /4 users' tokens from the file provider/);
    const s = JSON.parse(readFileSync(join(dir, 'file', 'summary.json'), 'utf8')) as RunSummary;
    const sent = s.metrics.messages_sent!.values.count!;
    assert.ok(sent > 100, `sent ${sent}`);
    assert.equal(s.metrics.messages_delivered!.values.count, sent);
    assertClean('file', r, tokens);
  });

  test('--register over wss:// with --ca-file: codes from the local file sender, users registered, traffic flows, no token in any output', async () => {
    const r = await run('register', ['--target', hp.tlsUrl('localhost'), '--ca-file', certs.caPath, '--register', '--verification-codes', sys.codesFile]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`registered ${USERS} users through https://localhost:\\d+/v1/register`));
    const s = JSON.parse(readFileSync(join(dir, 'register', 'summary.json'), 'utf8')) as RunSummary;
    const sent = s.metrics.messages_sent!.values.count!;
    assert.ok(sent > 100, `sent ${sent}`);
    assert.equal(s.metrics.messages_delivered!.values.count, sent);
    assert.deepEqual(s.target.urls, [hp.tlsUrl('localhost')]);
    // The registered users' codes were consumed from the file; their tokens appear nowhere.
    const codes = readFileSync(sys.codesFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { phone: string; code: string });
    assert.ok(codes.filter((c) => c.phone.startsWith('+1999')).length >= USERS);
    assertClean('register', r, []);
  });

  test('a wrong --ca-file: the run fails at setup with the certificate named, exit 1', async () => {
    const ids = await provisionFresh(sys, USERS);
    const file = join(dir, 'tokens2.txt');
    writeFileSync(file, ids.map((id) => `${id} ${mintToken(sys.secret, id, 3600)}`).join('\n'));
    const r = await run('wrong-ca', ['--target', hp.tlsUrl('localhost'), '--ca-file', certs.otherCaPath, '--token-file', file]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /TLS: the certificate of localhost:\d+ is not trusted/);
  });
});

describe('token files are outside input', () => {
  test('each malformed line is refused with its line number', () => {
    const bad: [string, RegExp][] = [
      ['12 abc def', /:1: expected "<user_id> <token>"/],
      ['0 tok', /:1: user_id must be a positive integer/],
      ['# c\n\n7 a\n7 b', /:4: user 7 appears twice/],
      ['{"user_id":"7","token":"x"}', /:1: a JSON line needs/],
      ['{"user_id":7,', /:1: not valid JSON/],
      [`9 ${'x'.repeat(257)}`, /:1: token must be 1\.\.256 printable characters/],
      ['9 tök', /:1: token must be/],
      ['99999999999999999 t', /:1: user_id must be a positive integer/],
    ];
    for (const [text, why] of bad) assert.throws(() => parseTokenList(text, 'f'), (e: Error) => e instanceof TokenFileError && why.test(e.message), text);
    assert.deepEqual(parseTokenList('5 a.b\n{"user_id":6,"token":"c.d"}\n', 'f'), { ids: [5, 6], tokens: ['a.b', 'c.d'] });
  });

  test('a file with fewer users than the run needs, or none at all, is refused clearly', () => {
    const d = mkdtempSync(join(tmpdir(), 'lg-tokfile-'));
    try {
      writeFileSync(join(d, 't'), '1 a\n2 b\n');
      assert.throws(() => readTokenFile(join(d, 't'), 3), /2 users, the run needs 3/);
      assert.deepEqual(readTokenFile(join(d, 't'), 1), { ids: [1], tokens: ['a'] });
      assert.throws(() => readTokenFile(join(d, 'missing'), 1), /ENOENT/);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
});
