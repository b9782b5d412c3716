// References (refs.ts) as files: <root>/.refs/<hash>/<chat id>.json, each
// written to a temp name, fsynced and renamed (a reader sees the old record or
// the new one), because a reference is what an upload's acknowledgement
// promises: the media is downloadable by the chat. The collector's marks
// (refs.ts BlobMark) are empty files beside them: <hash>/condemned-<ms>.mark.
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { assertBlobHash } from './blob-store';
import { decodeRef, encodeRef, markName, parseMarkName, REF_CHAT_ID_RE, type BlobMark, type BlobRecords, type MediaRef, type RefStore } from './refs';

export class FsRefStore implements RefStore {
  constructor(private readonly root: string) {}

  private dirOf(hash: string): string {
    assertBlobHash(hash);
    return join(this.root, hash);
  }

  private fileOf(hash: string, chatId: string): string {
    if (!REF_CHAT_ID_RE.test(chatId)) throw new Error(`not a chat id: ${JSON.stringify(chatId).slice(0, 80)}`);
    return join(this.dirOf(hash), `${chatId}.json`);
  }

  async put(ref: MediaRef): Promise<void> {
    const file = this.fileOf(ref.hash, ref.chat_id);
    await mkdir(this.dirOf(ref.hash), { recursive: true });
    const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
    const fh = await open(tmp, 'w', 0o600);
    try {
      await fh.writeFile(encodeRef(ref));
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
  }

  async get(hash: string, chatId: string): Promise<MediaRef | null> {
    try {
      return decodeRef(await readFile(this.fileOf(hash, chatId)));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async ofBlob(hash: string): Promise<MediaRef[]> {
    return (await this.scan(hash)).refs;
  }

  private async names(hash: string): Promise<string[]> {
    try {
      return await readdir(this.dirOf(hash));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  }

  async scan(hash: string): Promise<BlobRecords> {
    const names = await this.names(hash);
    const refs: MediaRef[] = [];
    for (const n of names.filter((n) => n.endsWith('.json'))) {
      const ref = await this.get(hash, n.slice(0, -5)).catch(() => null);
      if (ref) refs.push(ref);
    }
    return { refs, marks: marksOf(names) };
  }

  async marks(hash: string): Promise<BlobMark[]> {
    return marksOf(await this.names(hash));
  }

  async putMark(hash: string, mark: BlobMark): Promise<void> {
    const file = join(this.dirOf(hash), markName(mark));
    // Twice: a concurrent delete of the blob's last record may remove the directory between mkdir and open.
    for (let attempt = 0; ; attempt++) {
      await mkdir(this.dirOf(hash), { recursive: true });
      try {
        const fh = await open(file, 'w', 0o600);
        try {
          await fh.sync();
        } finally {
          await fh.close();
        }
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || attempt > 0) throw err;
      }
    }
  }

  async deleteMark(hash: string, mark: BlobMark): Promise<void> {
    await rm(join(this.dirOf(hash), markName(mark)), { force: true });
    await rmdir(this.dirOf(hash)).catch(() => {});
  }

  async delete(hash: string, chatId: string): Promise<void> {
    await rm(this.fileOf(hash, chatId), { force: true });
    // The blob's directory goes with its last reference (ENOTEMPTY: others remain).
    await rmdir(this.dirOf(hash)).catch(() => {});
  }
}

function marksOf(names: string[]): BlobMark[] {
  return names.map(parseMarkName).filter((m): m is BlobMark => m !== null);
}
