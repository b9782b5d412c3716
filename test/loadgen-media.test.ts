// Media messages in the load generator (traffic.mediaShare, traffic.mediaBytes):
// a short 1:1 run against the real system (chat service + gateway with its
// embedded blob store) where a share of the sends are media: each file is
// encrypted, uploaded over the gateway's HTTP media endpoint, its reference
// sent in the message, then downloaded, decrypted and verified by the recipient.
// The media accounting must add up exactly, the byte counters must match the
// files' ciphertext sizes and the gateway's own counters, and the summary and
// report must show them. Also: the new scenario options are validated.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSystem, type RunningSystem } from '../deploy/local-system';
import { freePort } from '../lib/net';
import { runScenario } from '../loadgen/engine/run';
import { freshUserBase } from '../loadgen/engine/local-target';
import type { RunSummary } from '../loadgen/engine/summary';
import { planRun } from '../loadgen/model/plan';
import { DEFAULT_TRAFFIC, type Scenario, type TrafficModel } from '../loadgen/model/scenario';
import { MEDIA_FILE_BYTES_MAX } from '../loadgen/model/media-limits';
import { uploadBytesFor } from '../loadgen/client/media-crypto';
import { renderSummaryText } from '../loadgen/outputs/summary-text';
import { reportHtmlOutput } from '../loadgen/outputs/report-html';
import { summaryJsonOutput } from '../loadgen/outputs/summary-json';

const RATE = 20;
const DURATION_S = 3;
/** Not a multiple of the AES block: the ciphertext is padded, so the byte counts check the real upload size. */
const FILE_BYTES = 20_000;

function scenario(traffic: Partial<TrafficModel>): Scenario {
  return {
    name: 'media', description: '1:1 load with media messages',
    production: { users: 2e9, messagesPerSecond: 1.16e6, notes: 'test' }, scale: { factor: 1e-6, basis: 'test' },
    traffic: { ...DEFAULT_TRAFFIC, users: 12, contactsPerUser: 2, messageBytes: 64, ...traffic },
    options: {
      scenarios: {
        chat: { executor: 'constant-arrival-rate', rate: RATE, timeUnit: '1s', duration: `${DURATION_S}s`, preAllocatedVUs: 20, maxVUs: 200, gracefulStop: '10s' },
      },
      deliveryGrace: '10s',
      iterationTimeout: '10s',
    },
  };
}

describe('scenario options: mediaShare and mediaBytes are validated', () => {
  test('a share within 0..1 and a size within 1..MEDIA_FILE_BYTES_MAX are accepted', () => {
    const plan = planRun(scenario({ mediaShare: 0.5, mediaBytes: { uniform: [1, 1024] } }));
    assert.equal(plan.traffic.mediaShare, 0.5);
    assert.deepEqual(plan.traffic.mediaBytes, { uniform: [1, 1024] });
    assert.equal(planRun(scenario({ mediaShare: 1 })).traffic.mediaBytes, 64 * 1024, 'the default file size');
  });

  test('out-of-range values are refused with the field named', () => {
    assert.throws(() => planRun(scenario({ mediaShare: 1.5 })), /traffic\.mediaShare must be a share within 0\.\.1/);
    assert.throws(() => planRun(scenario({ mediaShare: -0.1 })), /traffic\.mediaShare/);
    assert.throws(() => planRun(scenario({ mediaShare: 0.5, mediaBytes: 0 })), /traffic\.mediaBytes: 0 is outside 1\.\./);
    assert.throws(() => planRun(scenario({ mediaShare: 0.5, mediaBytes: MEDIA_FILE_BYTES_MAX + 1 })), /traffic\.mediaBytes/);
    assert.throws(() => planRun(scenario({ mediaShare: 0.5, mediaBytes: { uniform: [10, 5] } })), /min > max/);
    assert.throws(() => planRun(scenario({ mediaShare: 0.5, mediaBytes: Number.NaN })), /traffic\.mediaBytes/);
  });
});

describe('media messages through the real system', () => {
  let sys: RunningSystem;
  let dir: string;
  let s: RunSummary;
  let gatewayMedia: { uploadBytes: number; downloadBytes: number; uploadsCompleted: number; downloads: number; refusals: number };

  before(async () => {
    sys = await startSystem({ gatewayPort: await freePort() });
    dir = mkdtempSync(join(tmpdir(), 'lg-media-'));
    s = await runScenario({
      scenario: scenario({ mediaShare: 0.5, mediaBytes: FILE_BYTES }), scenarioFile: 'test',
      targetUrls: [sys.gatewayUrl], secret: sys.secret, chatTarget: sys.chatTarget, driver: 'system',
      shard: { index: 0, count: 1 }, workers: 2, outDir: dir, runId: 'media', transport: 'lean', localAddresses: [],
      userBase: freshUserBase(), command: 'test', outputs: [summaryJsonOutput, reportHtmlOutput], log: () => {},
    });
    const health = await (await fetch(`${sys.gatewayHttp(0)}/healthz`)).json() as { media: typeof gatewayMedia };
    gatewayMedia = health.media;
  });
  after(async () => {
    await sys?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('every scheduled media send is uploaded, downloaded and verified; the accounting adds up', () => {
    const m = s.reports.media;
    assert.ok(m, `a media report: ${JSON.stringify(s.reports)}`);
    const count = (name: string) => s.metrics[name]?.values.count ?? 0;
    assert.equal(count('sends_scheduled'), RATE * DURATION_S);
    assert.ok(m.scheduled > 10 && m.scheduled < RATE * DURATION_S, `about half the sends are media: ${m.scheduled}`);
    assert.ok(m.adds_up, JSON.stringify(m));
    assert.equal(m.scheduled, m.verified + m.failed + m.dropped + m.queued_at_end);
    // A healthy local system: nothing fails, nothing is left over.
    assert.deepEqual({ failed: m.failed_by_reason, dropped: m.dropped, queued: m.queued_by_stage }, { failed: {}, dropped: 0, queued: {} });
    assert.equal(m.uploaded, m.scheduled);
    assert.equal(m.verified, m.scheduled);
    assert.ok(s.reports.sends?.adds_up, JSON.stringify(s.reports.sends));
    assert.equal(count('sends_ok'), RATE * DURATION_S, 'text and media sends were all acknowledged');
    assert.equal(count('messages_delivered'), RATE * DURATION_S);
    assert.equal(count('delivery_lost') + count('delivery_duplicated') + count('delivery_out_of_order'), 0);
    assert.equal(s.metrics.media_latency?.values.count, m.verified, 'one latency sample per verified file');
    assert.ok(m.latency_p50_ms! > 0 && m.latency_p99_ms! >= m.latency_p50_ms!);
  });

  test('the byte counters match the files\' ciphertext sizes and the gateway\'s own counters', () => {
    const m = s.reports.media!;
    const each = uploadBytesFor(FILE_BYTES);
    assert.equal(m.bytes_up, m.uploaded * each);
    assert.equal(m.bytes_down, m.verified * each);
    assert.equal(gatewayMedia.uploadsCompleted, m.uploaded, 'the gateway completed as many uploads');
    assert.equal(gatewayMedia.uploadBytes, m.bytes_up, 'the gateway received exactly these bytes');
    assert.equal(gatewayMedia.downloads, m.verified, 'the gateway served one download per verified file');
    assert.equal(gatewayMedia.downloadBytes, m.bytes_down);
    assert.equal(gatewayMedia.refusals, 0);
    assert.ok(m.up_mb_per_s > 0 && m.down_mb_per_s > 0);
  });

  test('the text summary and the HTML report show the media figures', () => {
    const text = renderSummaryText(s);
    assert.match(text, new RegExp(`MEDIA .*\\n\\s+✓ scheduled ${s.reports.media!.scheduled} = verified ${s.reports.media!.verified} \\+ failed 0`));
    assert.match(text, /MB up \([\d.]+ MB\/s\), [\d.]+ MB down/);
    const html = readFileSync(join(dir, 'report.html'), 'utf8');
    assert.match(html, /id="chart-media-bandwidth"/);
    assert.match(html, /id="chart-media-latency"/);
    assert.match(html, /id="media-accounting" data-adds-up="true"/);
    const json = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as RunSummary;
    assert.deepEqual(json.reports.media, s.reports.media);
  });
});

describe('media failures are counted with their reason, and the accounting still adds up', () => {
  let sys: RunningSystem;
  let dir: string;

  before(async () => {
    // Documents over 30,000 bytes are refused (413 TOO_LARGE) by this gateway: the files drawn below straddle it.
    sys = await startSystem({ gatewayPort: await freePort(), env: { WA_MEDIA_DOCUMENT_BYTES_MAX: '30000' } });
    dir = mkdtempSync(join(tmpdir(), 'lg-media-fail-'));
  });
  after(async () => {
    await sys?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('uploads the gateway refuses fail as upload_413; their messages are never sent', async () => {
    const s = await runScenario({
      scenario: scenario({ mediaShare: 1, mediaBytes: { weighted: [[10_000, 1], [50_000, 1]] } }), scenarioFile: 'test',
      targetUrls: [sys.gatewayUrl], secret: sys.secret, chatTarget: sys.chatTarget, driver: 'system',
      shard: { index: 0, count: 1 }, workers: 1, outDir: dir, runId: 'media-fail', transport: 'lean', localAddresses: [],
      userBase: freshUserBase(), command: 'test', outputs: [], log: () => {},
    });
    const m = s.reports.media!;
    const count = (name: string) => s.metrics[name]?.values.count ?? 0;
    assert.equal(m.scheduled, RATE * DURATION_S, 'mediaShare 1: every send is a media send');
    assert.ok(m.verified > 0 && m.failed > 0, JSON.stringify(m));
    assert.deepEqual(m.failed_by_reason, { upload_413: m.failed });
    assert.ok(m.adds_up && m.verified + m.failed === m.scheduled, JSON.stringify(m));
    assert.equal(m.bytes_up, m.uploaded * uploadBytesFor(10_000), 'only the small files were stored');
    assert.equal(s.reports.sends?.failed_by_reason.media_upload_413, m.failed, 'the send failed with the same reason');
    assert.equal(count('messages_sent'), m.uploaded, 'a refused upload sends no message');
    assert.ok(s.reports.sends?.adds_up);
  });

  test('a bare target is refused up front: it has no media endpoint', async () => {
    await assert.rejects(runScenario({
      scenario: scenario({ mediaShare: 0.5 }), scenarioFile: 'test', targetUrls: ['ws://127.0.0.1:1/'], driver: 'bare',
      shard: { index: 0, count: 1 }, workers: 1, outDir: dir, runId: 'media-bare', transport: 'lean', localAddresses: [],
      command: 'test', outputs: [], log: () => {},
    }), /mediaShare > 0 needs --driver system/);
  });
});
