// Every process's /metrics follows Prometheus conventions, and no label can
// grow with traffic. A real system (chat service + two gateways) is scraped
// before and after traffic that touches every path we count: 1:1 load, a
// group, cross-gateway delivery, an offline queue and its drain, history,
// presence, pings, and refused input (bad token, malformed frame, self-send,
// unknown user). The load generator (`loadgen run smoke` against that
// system) is scraped as soon as its endpoint is up and again mid-run. The set
// of series of every wa_* family must be the same after as before: label
// values are fixed up front, never ids.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChatClient, ServerError } from '../loadgen/client/chat-client';
import { SystemDriver } from '../loadgen/drivers/system-driver';
import { runPairLoad } from '../loadgen/engine/pair-load';
import { frameBatch, GroupChangeKind } from '../server/common/protocol';
import { startSystem, type RunningSystem } from '../deploy/local-system';
import { parseExposition, withoutFamilies, type Family } from '../server/metrics/exposition';
import { connectUser, newUserId, sleep, text, waitFor } from './helpers/system';

/** The last word of every wa_* name: a base unit, `total`, or what a count/gauge counts. Extend deliberately. */
const NAME_ENDINGS = new Set([
  'seconds', 'bytes', 'total', 'items', 'messages', 'events', 'connections', 'users', 'links', 'up', 'info', 'active', 'queued',
  // the load generator: VUs it runs, shares (0..1), its executors' target rate (iterations per second)
  'vus', 'ratio', 'rate',
]);
/** Units that are not base units (Prometheus: seconds, bytes). */
const NON_BASE_UNITS = /_(ms|us|ns|millis|milliseconds|micros|microseconds|nanoseconds|minutes|hours|days|kb|mb|gb|kib|mib|gib|kilobytes|megabytes|percent)(_|$)/;
/** Label names that would carry per-entity values. */
const FORBIDDEN_LABELS = new Set([
  'user', 'user_id', 'userid', 'uid', 'chat', 'chat_id', 'group', 'group_id', 'conn', 'conn_id', 'connection', 'connection_id',
  'session', 'message', 'message_id', 'msg_id', 'client_msg_id', 'id', 'phone', 'token', 'ip', 'addr', 'remote_addr', 'url', 'path',
]);
/** Values that look like ids: long numbers, chat ids (d.<a>.<b>, g.<n>), uuids. */
const ID_LIKE = /^\d{4,}$|^[dg]\.\d+|^[0-9a-f]{8}-[0-9a-f]{4}-/;
/** Largest closed set of label values: the error codes (server/common/errors.ts) plus the gateway's own reasons are the biggest, ~34 with the key directory's. */
const DISTINCT_VALUES_MAX = 48;
const SERIES_PER_FAMILY_MAX = 200;

interface Scrape {
  process: string;
  text: string;
  families: Map<string, Family>;
}

async function scrape(process: string, url: string): Promise<Scrape> {
  const res = await fetch(url);
  assert.equal(res.status, 200, `${process} ${url}`);
  assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
  const text = await res.text();
  return { process, text, families: parseExposition(text) };
}

/** The load generator's CLI against `sys`, with its /metrics on a free port. */
function startLoadgen(sys: RunningSystem): { child: ChildProcess; url: Promise<string>; exited: Promise<number>; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'wa-naming-lg-'));
  const child = spawn(process.execPath, [join(__dirname, '..', 'loadgen', 'commands', 'cli.js'), 'run', 'smoke', '--target', sys.gatewayUrl,
    '--chat-target', sys.chatTarget, `--secret=${sys.secret}`, '--duration', '4s', '--metrics-port', '0', '--quiet', '--out', dir],
  { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  const url = new Promise<string>((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => {
      err += d;
      const m = /metrics: (http:\/\/127\.0\.0\.1:\d+\/metrics)/.exec(err);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`loadgen exited ${code} before serving /metrics: ${err}`)));
  });
  url.catch(() => {});
  const exited = new Promise<number>((resolve) => child.once('exit', (code) => resolve(code ?? -1)));
  return { child, url, exited, dir };
}

async function scrapeAll(sys: RunningSystem): Promise<Scrape[]> {
  const urls = sys.metricsUrls();
  const targets = [['chat', urls.chat], ...urls.gateways.map((u, i) => [`gateway-${i}`, u])] as [string, string][];
  const out: Scrape[] = [];
  for (const [process, url] of targets) {
    const res = await fetch(url);
    assert.equal(res.status, 200, `${process} ${url}`);
    assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
    const text = await res.text();
    out.push({ process, text, families: parseExposition(text) });
  }
  return out;
}

function seriesKeys(f: Family): string[] {
  return f.samples.map((s) => `${s.name}{${Object.entries(s.labels).map(([k, v]) => `${k}=${v}`).sort().join(',')}}`).sort();
}

function value(s: Scrape, name: string, labels: Record<string, string> = {}): number {
  for (const f of s.families.values()) {
    for (const x of f.samples) {
      if (x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v)) return x.value;
    }
  }
  assert.fail(`${s.process}: no sample ${name} ${JSON.stringify(labels)}`);
}

describe('metrics naming and cardinality, every process', { timeout: 150_000 }, () => {
  let sys: RunningSystem;
  let loadgenAfter: Scrape;
  let beforeTraffic: Scrape[];
  let afterTraffic: Scrape[];

  before(async () => {
    sys = await startSystem({ gateways: 2 });
    beforeTraffic = await scrapeAll(sys);

    // The load generator: scraped before its users connect and again while it sends.
    const lg = startLoadgen(sys);
    try {
      const url = await lg.url;
      const lgBefore = await scrape('loadgen', url);
      let lgAfter = lgBefore;
      await waitFor(async () => {
        lgAfter = await scrape('loadgen', url);
        return value(lgAfter, 'wa_loadgen_messages_delivered_total') > 200;
      }, 30_000, 'load generator traffic');
      beforeTraffic.push(lgBefore);
      loadgenAfter = lgAfter;
      const code = await lg.exited;
      assert.ok(code === 0 || code === 99, `loadgen exited ${code}`); // 99: a latency threshold on this shared machine
    } finally {
      if (lg.child.exitCode === null) lg.child.kill('SIGINT');
      rmSync(lg.dir, { recursive: true, force: true });
    }

    // 1:1 load on gateway 0.
    const load = await runPairLoad(new SystemDriver({ url: sys.gatewayUrl, secret: sys.secret, userBase: Date.now() % 1_000_000_000 }), {
      users: 40, stages: [{ rate: 400, durationS: 2 }], graceMs: 2000,
    });
    assert.ok(load.stages[0]!.delivered > 0);

    // Cross-gateway, group, history, presence, ping.
    const a = await connectUser(sys, newUserId(), {}, 0);
    const b = await connectUser(sys, newUserId(), {}, 1);
    const c = await connectUser(sys, newUserId(), {}, 1);
    const sent = await a.send(b.userId, text('hello across gateways'));
    await waitFor(() => b.frames.some((f) => f.body === 'message'), 5000, 'cross-gateway delivery');
    await a.history(sent.chat_id);
    await a.ping();
    const group = await a.createGroup('metrics', [b.userId, c.userId]);
    await a.sendToChat(group.chat_id, text('hello group'));
    await a.changeGroup(group.chat_id, GroupChangeKind.RENAME, [], 'metrics 2');
    await a.messageInfo(group.chat_id, sent.id).catch(() => {});
    // b shares a chat with a (1:1) and with c (the group): it may watch both.
    b.subscribePresence([a.userId, c.userId]);
    await waitFor(() => b.frames.some((f) => f.body === 'presence' && f.presence.user === c.userId && f.presence.online), 5000, 'c online');

    // An offline queue, then its drain.
    const offlineId = c.userId;
    c.close();
    await waitFor(() => b.frames.some((f) => f.body === 'presence' && f.presence.user === offlineId && !f.presence.online), 5000, 'c offline');
    for (let i = 0; i < 5; i++) await a.send(offlineId, text(`queued ${i}`));
    const c2 = await connectUser(sys, offlineId, {}, 1);
    await waitFor(() => c2.frames.some((f) => f.body === 'drain_done'), 5000, 'drain');

    // Refused input.
    await assert.rejects(a.send(a.userId, text('me')), (e: unknown) => e instanceof ServerError && e.code === 'SELF_SEND');
    await assert.rejects(a.send(newUserId(), text('nobody')), (e: unknown) => e instanceof ServerError && e.code === 'UNKNOWN_USER');
    await assert.rejects(ChatClient.connect({ url: sys.gatewayUrl, token: 'not-a-token', kind: 'lean' }));
    a.sendRaw(frameBatch([Buffer.from([0x12, 0x7f, 0x08])])); // a valid batch holding a truncated frame
    await sleep(300);

    for (const cl of [a, b, c2]) cl.close();
    await sleep(200);
    afterTraffic = [...await scrapeAll(sys), loadgenAfter];
  });

  after(async () => {
    await sys?.stop();
  });

  it('serves /metrics on every process, with our families and the default process metrics', () => {
    for (const s of afterTraffic) {
      const names = [...s.families.keys()];
      const own = s.process === 'chat' ? 'wa_chat_' : s.process === 'loadgen' ? 'wa_loadgen_' : 'wa_gateway_';
      assert.ok(names.some((n) => n.startsWith(own)), `${s.process}: own families`);
      for (const n of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds', 'wa_event_loop_delay_seconds']) {
        assert.ok(s.families.has(n), `${s.process}: ${n}`);
      }
    }
  });

  it('counts what the traffic did (the scrape reads live state)', () => {
    const [chat, gw0, gw1, lg] = afterTraffic as [Scrape, Scrape, Scrape, Scrape];
    assert.equal(lg.process, 'loadgen');
    assert.ok(value(lg, 'wa_loadgen_messages_sent_total', { scenario: 'smoke' }) > 200);
    assert.ok(value(lg, 'wa_loadgen_messages_scheduled_total', { scenario: 'smoke' }) > 200);
    assert.ok(value(lg, 'wa_loadgen_delivery_latency_seconds_count', { scenario: 'smoke' }) > 200);
    assert.ok(value(lg, 'wa_loadgen_delivery_latency_seconds_bucket', { scenario: 'smoke', le: '+Inf' }) > 200);
    assert.equal(value(lg, 'wa_loadgen_connections', { scenario: 'smoke' }), 200);
    assert.ok(value(chat, 'wa_chat_messages_stored_total', { kind: 'direct' }) > 100);
    assert.ok(value(chat, 'wa_chat_messages_stored_total', { kind: 'group' }) >= 1);
    assert.ok(value(chat, 'wa_chat_messages_stored_total', { kind: 'system' }) >= 2);
    assert.ok(value(chat, 'wa_chat_deliveries_total', { delivery: 'replay' }) >= 5);
    assert.ok(value(chat, 'wa_chat_errors_total', { reason: 'SELF_SEND' }) >= 1);
    assert.ok(value(chat, 'wa_chat_errors_total', { reason: 'UNKNOWN_USER' }) >= 1);
    assert.ok(value(chat, 'wa_store_commit_duration_seconds_count') > 0);
    assert.ok(value(chat, 'wa_store_read_duration_seconds_count', { op: 'history' }) >= 1);
    assert.ok(value(chat, 'wa_chat_grpc_hop_latency_seconds_count') > 0);
    assert.ok(value(gw0, 'wa_gateway_delivery_latency_seconds_count') > 100);
    assert.ok(value(gw1, 'wa_gateway_delivery_latency_seconds_count') >= 1, 'the recipient gateway observes cross-gateway deliveries');
    assert.ok(value(gw0, 'wa_gateway_errors_total', { reason: 'BAD_TOKEN' }) >= 1);
    assert.ok(value(gw0, 'wa_gateway_frames_received_total', { type: 'invalid' }) >= 1);
    assert.ok(value(gw0, 'wa_gateway_frames_received_total', { type: 'ping' }) >= 1);
    assert.ok(value(gw1, 'wa_gateway_frames_received_total', { type: 'presence_subscribe' }) >= 1);
  });

  it('names carry base units, counters end in _total and nothing else does', () => {
    for (const s of afterTraffic) {
      for (const f of s.families.values()) {
        assert.ok(f.help.length > 0, `${s.process} ${f.name}: HELP`);
        if (f.type === 'counter') assert.match(f.name, /_total$/, `${s.process} ${f.name}: counter without _total`);
        if (!f.name.startsWith('wa_')) continue; // prom-client's defaults: promtool judges them below
        assert.ok(['counter', 'gauge', 'histogram'].includes(f.type), `${f.name}: type ${f.type}`);
        if (f.type !== 'counter') assert.doesNotMatch(f.name, /_total$/, `${s.process} ${f.name}: _total on a ${f.type}`);
        assert.doesNotMatch(f.name, NON_BASE_UNITS, `${s.process} ${f.name}: use base units (_seconds, _bytes)`);
        assert.match(f.name, /^wa_(gateway|chat|store|event_loop|loadgen)_[a-z0-9_]+$/, `${f.name}: wa_<tier>_...`);
        const ending = f.name.slice(f.name.lastIndexOf('_') + 1);
        assert.ok(NAME_ENDINGS.has(ending), `${s.process} ${f.name}: ends in "${ending}", not a unit or a counted noun (${[...NAME_ENDINGS].join(', ')})`);
        if (/latency|duration|delay|lag/.test(f.name)) assert.match(f.name, /_seconds$/, `${f.name}: a time is in seconds`);
      }
    }
  });

  it('has no label that could carry an id, and label values stay in small fixed sets', () => {
    for (const s of afterTraffic) {
      for (const f of s.families.values()) {
        assert.ok(f.samples.length <= SERIES_PER_FAMILY_MAX, `${s.process} ${f.name}: ${f.samples.length} series`);
        const values = new Map<string, Set<string>>();
        for (const x of f.samples) {
          for (const [k, v] of Object.entries(x.labels)) {
            assert.ok(!FORBIDDEN_LABELS.has(k), `${s.process} ${f.name}: label ${k}`);
            if (k === 'le' || k === 'quantile' || k === 'version') continue;
            assert.doesNotMatch(v, ID_LIKE, `${s.process} ${f.name}{${k}="${v}"}: looks like an id`);
            if (!values.has(k)) values.set(k, new Set());
            values.get(k)!.add(v);
          }
        }
        for (const [k, vs] of values) assert.ok(vs.size <= DISTINCT_VALUES_MAX, `${s.process} ${f.name}: ${vs.size} values of ${k}`);
      }
    }
  });

  it('traffic adds no series to any wa_* family (labels are declared up front)', () => {
    for (let i = 0; i < afterTraffic.length; i++) {
      const b = beforeTraffic[i]!;
      const a = afterTraffic[i]!;
      for (const [name, f] of a.families) {
        if (!name.startsWith('wa_')) continue;
        const before = b.families.get(name);
        assert.ok(before, `${a.process} ${name}: appeared only after traffic`);
        assert.deepEqual(seriesKeys(f), seriesKeys(before), `${a.process} ${name}: series changed with traffic`);
      }
    }
  });

  it('passes promtool check metrics (prom-client\'s own nodejs_* defaults aside)', () => {
    for (const s of afterTraffic) {
      // Unfiltered, the only complaints may be about prom-client's defaults
      // (nodejs_active_handles_total etc. are gauges named like counters).
      const full = spawnSync('promtool', ['check', 'metrics'], { input: s.text, encoding: 'utf8' });
      const problems = `${full.stdout}${full.stderr}`.split('\n').map((l) => l.trim()).filter(Boolean);
      for (const p of problems) assert.match(p, /^nodejs_/, `${s.process}: promtool: ${p}`);
      const ours = withoutFamilies(s.text, (n) => n.startsWith('nodejs_'));
      const r = spawnSync('promtool', ['check', 'metrics'], { input: ours, encoding: 'utf8' });
      assert.equal(r.status, 0, `${s.process}: promtool check metrics: ${r.stdout}${r.stderr}`);
      assert.equal(`${r.stdout}${r.stderr}`.trim(), '', `${s.process}: promtool check metrics output`);
    }
  });
});
