// The embedded blob store: one file per blob under <root>/<first two hex>/<hash>
// (256 fan-out directories keep any one directory small). A blob becomes
// visible only by rename(2) of a complete, fsynced file from <root>/.staging,
// and the directory is fsynced after the rename, so a crash leaves either no
// blob or the whole blob, never a partial one, and an acknowledged put
// survives power loss. Cost per put: one hash pass over the bytes, one write
// (buffers) or none (a staged file on the same filesystem is renamed), two
// fsyncs.
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { copyFile, mkdir, open, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import {
  assertBlobHash, BLOB_HASH_RE, BlobHashMismatch, checkRange,
  type BlobInfo, type BlobSource, type BlobStore, type PutResult,
} from './blob-store';
import { FsRefStore } from './fs-refs';
import { hashFile, sha256Hex } from './hashing';

const STAGING = '.staging';
const REFS = '.refs';
/** A staged put older than this was abandoned by a crash: no put takes minutes (a 100 MB file is written and fsynced in seconds). */
const STAGING_ABANDONED_MS = 10 * 60_000;

export class FsBlobStore implements BlobStore {
  readonly kind = 'embedded' as const;
  readonly refs: FsRefStore;

  private constructor(readonly root: string) {
    this.refs = new FsRefStore(join(root, REFS));
  }

  static async open(root: string): Promise<FsBlobStore> {
    await mkdir(join(root, STAGING), { recursive: true });
    // Leftovers of puts a crash interrupted: never visible, safe to drop. Only old ones: several processes (the
    // gateways of one host) may share the root, and another's put in flight must not lose its file.
    const now = Date.now();
    for (const name of await readdir(join(root, STAGING))) {
      const file = join(root, STAGING, name);
      const s = await stat(file).catch(() => null);
      if (s && now - s.mtimeMs > STAGING_ABANDONED_MS) await rm(file, { force: true });
    }
    return new FsBlobStore(root);
  }

  private pathOf(hash: string): string {
    return join(this.root, hash.slice(0, 2), hash);
  }

  async put(hash: string, source: BlobSource): Promise<PutResult> {
    assertBlobHash(hash);
    const staged = join(this.root, STAGING, `${hash}.${randomBytes(6).toString('hex')}`);
    try {
      // Verified first, then looked up: a forward of a stored blob costs a hash pass and a stat, no write.
      const size = 'bytes' in source ? verify(hash, source.bytes) : await verifyFile(hash, source.file);
      const existing = await this.stat(hash);
      if (existing) return { created: false, size: existing.size };
      if ('bytes' in source) await writeDurably(staged, source.bytes);
      else await moveDurably(source.file, staged);
      const dir = join(this.root, hash.slice(0, 2));
      await mkdir(dir, { recursive: true });
      await rename(staged, this.pathOf(hash));
      await fsyncDir(dir);
      return { created: true, size };
    } finally {
      await rm(staged, { force: true });
      if ('file' in source) await rm(source.file, { force: true });
    }
  }

  async get(hash: string, start: number, endInclusive: number): Promise<Buffer | null> {
    assertBlobHash(hash);
    let fh;
    try {
      fh = await open(this.pathOf(hash), 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    try {
      const { size } = await fh.stat();
      checkRange(size, start, endInclusive);
      const out = Buffer.allocUnsafe(endInclusive - start + 1);
      let done = 0;
      while (done < out.length) {
        const { bytesRead } = await fh.read(out, done, out.length - done, start + done);
        if (bytesRead === 0) throw new Error(`blob ${hash} shrank while read`);
        done += bytesRead;
      }
      return out;
    } finally {
      await fh.close();
    }
  }

  async stat(hash: string): Promise<BlobInfo | null> {
    assertBlobHash(hash);
    try {
      const s = await stat(this.pathOf(hash));
      return { hash, size: s.size, storedAtMs: s.mtimeMs };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async delete(hash: string): Promise<boolean> {
    assertBlobHash(hash);
    try {
      await unlink(this.pathOf(hash));
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
  }

  async list(after: string, limit: number): Promise<BlobInfo[]> {
    const out: BlobInfo[] = [];
    const dirs = (await readdir(this.root)).filter((d) => /^[0-9a-f]{2}$/.test(d) && d >= after.slice(0, 2)).sort();
    for (const d of dirs) {
      const names = (await readdir(join(this.root, d))).filter((n) => BLOB_HASH_RE.test(n) && n > after).sort();
      for (const name of names) {
        const info = await this.stat(name);
        if (info) out.push(info);
        if (out.length >= limit) return out;
      }
    }
    return out;
  }

  async close(): Promise<void> {}
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

function verify(hash: string, bytes: Buffer): number {
  const actual = sha256Hex(bytes);
  if (actual !== hash) throw new BlobHashMismatch(hash, actual);
  return bytes.length;
}

async function verifyFile(hash: string, file: string): Promise<number> {
  const { hash: actual, size } = await hashFile(file);
  if (actual !== hash) throw new BlobHashMismatch(hash, actual);
  return size;
}

async function writeDurably(path: string, bytes: Buffer): Promise<void> {
  const fh = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  try {
    await fh.writeFile(bytes);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** A staged upload into our staging dir (a copy across filesystems), then fsynced. */
async function moveDurably(file: string, staged: string): Promise<void> {
  try {
    await rename(file, staged);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
    await copyFile(file, staged);
  }
  const fh = await open(staged, 'r+');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
