// Fuzz target: media's outside inputs parsed at the gateway (docs/design/022-media.md):
// an upload's JSON declaration (server/media/uploads.ts: parseDeclaration) and a Range
// header against a blob's size (server/gateway/media-http.ts: parseRange). Whatever
// arrives ends in a checked value or a MediaError / BlobRangeError, never another throw
// (a throw there would be answered 503, hiding a client's mistake as our outage).
// Replay a failure: WA_FUZZ_SEED=<seed printed> node --test dist/test/fuzz-media-inputs.test.js
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { DEFAULT_MEDIA_LIMITS, mediaBytesMax, MEDIA_KINDS } from '../server/common/config-media';
import { BLOB_HASH_RE, BlobRangeError } from '../server/media/blob-store';
import { MediaError } from '../server/media/errors';
import { REF_CHAT_ID_RE } from '../server/media/refs';
import { parseDeclaration } from '../server/media/uploads';
import { parseRange } from '../server/gateway/media-http';
import { fuzz } from './fuzz/harness';

const hex64 = fc.stringMatching(/^[0-9a-f]{64}$/);
const declarationish = fc.record({
  chat_id: fc.oneof(fc.constantFrom('d.1.2', 'g.77', 'd.0.1', '../x', ''), fc.string(), fc.integer()),
  kind: fc.oneof(fc.constantFrom(...MEDIA_KINDS, 'exe', 'IMAGE'), fc.string(), fc.constant(null)),
  size: fc.oneof(fc.integer({ min: -1, max: 200 * 1024 * 1024 }), fc.double(), fc.string(), fc.constant({ toString: 1 })),
  sha256: fc.oneof(hex64, fc.string(), fc.constant(null)),
}, { requiredKeys: [] });

describe('fuzz: media inputs', () => {
  test('any JSON as an upload declaration: a checked declaration or a MediaError', async () => {
    await fuzz('media-declaration', 2000, fc.property(fc.oneof(declarationish, fc.jsonValue()), (v) => {
      try {
        const d = parseDeclaration(v, DEFAULT_MEDIA_LIMITS);
        assert.ok(REF_CHAT_ID_RE.test(d.chat_id) && BLOB_HASH_RE.test(d.sha256) && MEDIA_KINDS.includes(d.kind));
        assert.ok(Number.isSafeInteger(d.size) && d.size > 0 && d.size <= mediaBytesMax(DEFAULT_MEDIA_LIMITS, d.kind));
      } catch (err) {
        assert.ok(err instanceof MediaError, `not a MediaError: ${String(err)}`);
      }
    }));
  });

  test('any Range header against any size: a range inside the blob, a BlobRangeError, or a MediaError', async () => {
    const header = fc.oneof(fc.string(), fc.tuple(fc.nat(), fc.nat()).map(([a, b]) => `bytes=${a}-${b}`),
      fc.nat().map((n) => `bytes=-${n}`), fc.nat().map((n) => `bytes=${n}-`));
    await fuzz('media-range', 3000, fc.property(header, fc.integer({ min: 1, max: 1e9 }), (h, size) => {
      try {
        const r = parseRange(h, size);
        if (r instanceof BlobRangeError) return;
        assert.ok(r.start >= 0 && r.start <= r.end && r.end < size, `${h} on ${size}: ${JSON.stringify(r)}`);
        assert.equal(r.partial, h !== '');
      } catch (err) {
        assert.ok(err instanceof MediaError, `not a MediaError: ${String(err)}`);
      }
    }));
  });
});
