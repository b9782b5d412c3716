// The device's side of media (loadgen/client): WhatsApp's media encryption
// (AES-256-CBC + truncated HMAC-SHA256, keys from HKDF-SHA256 of a random
// per-file key) and image sizing and thumbnails with sharp, both bounded.
import assert from 'node:assert/strict';
import { createCipheriv, createHash, createHmac, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { crc32, deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { decryptMedia, encryptMedia, MediaIntegrityError, uploadBytesFor, type MediaKind } from '../loadgen/client/media-crypto';
import { prepareImage, THUMBNAIL_LIMITS } from '../loadgen/client/media-thumbnail';

/** RFC 5869 HKDF-SHA256 written out (no salt: a hash-length zero key), to pin media-crypto's key schedule to the RFC. */
function rfc5869(ikm: Buffer, info: string, length: number): Buffer {
  const prk = createHmac('sha256', Buffer.alloc(32)).update(ikm).digest();
  const out: Buffer[] = [];
  let t = Buffer.alloc(0);
  for (let i = 1; Buffer.concat(out).length < length; i++) {
    t = createHmac('sha256', prk).update(Buffer.concat([t, Buffer.from(info), Buffer.from([i])])).digest();
    out.push(t);
  }
  return Buffer.concat(out).subarray(0, length);
}

test('the upload is AES-256-CBC(HKDF keys) then 10 bytes of HMAC-SHA256 over iv|enc, as WhatsApp specifies', () => {
  const key = Buffer.alloc(32, 7);
  const file = Buffer.from('a picture of a cat, in bytes');
  const e = encryptMedia(file, 'image', key);
  const okm = rfc5869(key, 'WhatsApp Image Keys', 112);
  const [iv, cipherKey, macKey] = [okm.subarray(0, 16), okm.subarray(16, 48), okm.subarray(48, 80)];
  const c = createCipheriv('aes-256-cbc', cipherKey, iv);
  const enc = Buffer.concat([c.update(file), c.final()]);
  const mac = createHmac('sha256', macKey).update(Buffer.concat([iv, enc])).digest().subarray(0, 10);
  assert.ok(e.upload.equals(Buffer.concat([enc, mac])));
  assert.equal(e.encSha256, createHash('sha256').update(e.upload).digest('hex'));
  assert.equal(e.upload.length, uploadBytesFor(file.length));
});

test('round trip for every kind and size around the block boundary; a fresh key per file', () => {
  for (const kind of ['image', 'video', 'audio', 'document'] as MediaKind[]) {
    for (const size of [0, 1, 15, 16, 17, 100_000]) {
      const file = randomBytes(size);
      const e = encryptMedia(file, kind);
      assert.equal(e.upload.length, uploadBytesFor(size));
      assert.ok(decryptMedia(e.upload, kind, e).equals(file), `${kind} ${size}`);
    }
  }
  const f = randomBytes(100);
  assert.notEqual(encryptMedia(f, 'image').encSha256, encryptMedia(f, 'image').encSha256, 'same file, new key, new ciphertext');
});

test('tampering is caught before decryption: a flipped byte, a forged hash, another key, another kind, a truncation', () => {
  const file = randomBytes(5000);
  const e = encryptMedia(file, 'video');
  const flipped = Buffer.from(e.upload);
  flipped[100]! ^= 1;
  assert.throws(() => decryptMedia(flipped, 'video', e), /enc_sha256/);
  const forgedHash = createHash('sha256').update(flipped).digest('hex');
  assert.throws(() => decryptMedia(flipped, 'video', { ...e, encSha256: forgedHash }), /MAC mismatch/, 'a server that recomputes the hash still fails the MAC');
  assert.throws(() => decryptMedia(e.upload, 'video', { ...e, mediaKey: randomBytes(32) }), /MAC mismatch/);
  assert.throws(() => decryptMedia(e.upload, 'audio', e), /MAC mismatch/, 'the kind is bound into the keys');
  const cut = e.upload.subarray(0, e.upload.length - 16);
  assert.throws(() => decryptMedia(cut, 'video', { ...e, encSha256: createHash('sha256').update(cut).digest('hex') }), MediaIntegrityError);
});

test('images are sized to 1600 px and get a ~100 px JPEG thumbnail; small ones are not enlarged', async () => {
  const big = await sharp({ create: { width: 4000, height: 3000, channels: 3, background: { r: 200, g: 30, b: 90 } } }).png().toBuffer();
  const p = await prepareImage(big);
  assert.deepEqual([p.width, p.height], [1600, 1200]);
  const t = await sharp(p.thumbnail).metadata();
  assert.deepEqual([t.format, t.width, t.height], ['jpeg', 100, 75]);
  assert.ok(p.thumbnail.length <= THUMBNAIL_LIMITS.thumbnail_bytes_max);
  const small = await prepareImage(await sharp({ create: { width: 200, height: 100, channels: 3, background: '#000' } }).jpeg().toBuffer());
  assert.deepEqual([small.width, small.height], [200, 100]);
});

test('bounded input: garbage is refused, and an image declaring 400 megapixels is refused before it is decoded', async () => {
  await assert.rejects(prepareImage(randomBytes(1000)));
  // A PNG whose header says 20000 x 20000 with almost no pixel data: a decompression bomb's shape.
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type), data]);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(20_000, 0);
  ihdr.writeUInt32BE(20_000, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  const png = Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(Buffer.alloc(10))), chunk('IEND', Buffer.alloc(0))]);
  const t0 = Date.now();
  await assert.rejects(prepareImage(png), /pixel limit/);
  assert.ok(Date.now() - t0 < 2000, 'refused from the header, not after decoding');
});
