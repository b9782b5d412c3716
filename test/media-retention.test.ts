// Retention (server/media/collector.ts) on the embedded blob store with an
// injected clock: media is kept until delivered to all recipients, then
// media_retention_seconds; undelivered media goes after the undelivered TTL; a
// blob lives while any chat references it; a young blob with no reference yet
// (uploaded, its message not sent) is kept through the grace period; a blob
// found unreferenced is marked and deleted by a run a condemned grace later
// (the races around that mark: helpers/retention-race-cases.ts, both engines).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { DEFAULT_MEDIA_LIMITS, type MediaLimits } from '../server/common/config-media';
import { collectOnce } from '../server/media/collector';
import { FsBlobStore } from '../server/media/fs-blob-store';
import { withDownload, type MediaRef } from '../server/media/refs';
import { blob } from './helpers/blob-conformance';

const DAY_MS = 24 * 3600_000;
const limits: MediaLimits = {
  ...DEFAULT_MEDIA_LIMITS, media_retention_seconds: 7 * 86_400, media_undelivered_ttl_seconds: 30 * 86_400,
  media_unreferenced_grace_seconds: 86_400, media_condemned_grace_seconds: 6 * 3600, media_collect_page_max: 3,
};
let dir: string;
let store: FsBlobStore;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wa-retention-'));
  store = await FsBlobStore.open(dir);
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** A run at `nowMs` (expires references, marks what is left unreferenced), then the run a condemned grace later that sweeps it. */
async function collectAndSweep(nowMs: number): Promise<{ blobsSeen: number; refsExpired: number; blobsCollected: number }> {
  const mark = await collectOnce(store, limits, nowMs);
  assert.equal(mark.blobsCollected, 0, 'the run that finds a blob unreferenced does not delete it');
  const sweep = await collectOnce(store, limits, nowMs + limits.media_condemned_grace_seconds * 1000);
  assert.equal(sweep.blobsCondemned, 0, JSON.stringify(sweep));
  return { blobsSeen: mark.blobsSeen, refsExpired: mark.refsExpired + sweep.refsExpired, blobsCollected: sweep.blobsCollected };
}

function ref(hash: string, chat: string, createdMs: number, members = 2): MediaRef {
  return { hash, chat_id: chat, kind: 'image', size: 100, uploader: 1, created_ms: createdMs, members, downloaded_by: [], delivered_all_ms: 0 };
}

test('delivered to all, then N days; undelivered, the TTL; shared blobs live while one chat references them; young orphans wait out the grace', async () => {
  const t0 = Date.now();
  const [delivered, undelivered, shared, orphan, groupPartly] = Array.from({ length: 5 }, () => blob(100));
  for (const b of [delivered, undelivered, shared, orphan, groupPartly]) await store.put(b!.hash, { bytes: b!.bytes });
  await store.refs.put(withDownload(ref(delivered!.hash, 'd.1.2', t0), 2, t0 + DAY_MS)!);
  await store.refs.put(ref(undelivered!.hash, 'd.1.3', t0));
  await store.refs.put(withDownload(ref(shared!.hash, 'd.1.2', t0), 2, t0)!);
  await store.refs.put(ref(shared!.hash, 'd.2.5', t0 + 20 * DAY_MS));
  // A group of 4: two of the three recipients downloaded: not yet delivered to all.
  let g = ref(groupPartly!.hash, 'g.77', t0, 4);
  for (const u of [2, 3]) g = withDownload(g, u, t0)!;
  assert.equal(g.delivered_all_ms, 0);
  assert.equal(withDownload(g, 2, t0), null, 'a second download by the same member changes nothing');
  assert.equal(withDownload(g, 1, t0), null, 'the uploader is not a recipient');
  await store.refs.put(g);

  // Day 7.5: the shared blob's first reference (delivered on day 0) is past its 7 days; the blob lives on through
  // its other chat. The orphan (never referenced) is past its day of grace and goes.
  let r = await collectAndSweep(t0 + 7.5 * DAY_MS);
  assert.deepEqual(r, { blobsSeen: 5, refsExpired: 1, blobsCollected: 1 });
  assert.equal(await store.stat(orphan!.hash), null);
  assert.ok(await store.stat(shared!.hash));
  assert.deepEqual((await store.refs.ofBlob(shared!.hash)).map((x) => x.chat_id), ['d.2.5']);
  assert.ok(await store.stat(delivered!.hash), 'delivered on day 1: kept until day 8');
  // Day 8.5: the media delivered on day 1 has had its 7 days: reference and blob go.
  r = await collectAndSweep(t0 + 8.5 * DAY_MS);
  assert.deepEqual(r, { blobsSeen: 4, refsExpired: 1, blobsCollected: 1 });
  assert.equal(await store.stat(delivered!.hash), null);
  // Day 30.5: the undelivered TTL has passed for the 1:1 and the partly delivered group.
  r = await collectAndSweep(t0 + 30.5 * DAY_MS);
  assert.deepEqual(r, { blobsSeen: 3, refsExpired: 2, blobsCollected: 2 });
  assert.ok(await store.stat(shared!.hash), 'its other reference (made day 20) is alive until day 50');
  r = await collectAndSweep(t0 + 50.5 * DAY_MS);
  assert.deepEqual(r, { blobsSeen: 1, refsExpired: 1, blobsCollected: 1 });
  assert.deepEqual(await store.list('', 100), []);
});

test('a blob younger than the grace period is kept without a reference (its message is on its way)', async () => {
  const young = blob(100);
  await store.put(young.hash, { bytes: young.bytes });
  const r = await collectOnce(store, limits, Date.now() + 3600_000);
  assert.equal(r.blobsCollected, 0);
  assert.ok(await store.stat(young.hash));
});
