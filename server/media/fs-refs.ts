// References (refs.ts) as files: <root>/.refs/<hash>/<chat id>.json, each
// written to a temp name, fsynced and renamed (a reader sees the old record or
// the new one), because a reference is what an upload's acknowledgement
// promises: the media is downloadable by the chat.
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { assertBlobHash } from './blob-store';
import { decodeRef, encodeRef, REF_CHAT_ID_RE, type MediaRef, type RefStore } from './refs';

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
    let names: string[];
    try {
      names = await readdir(this.dirOf(hash));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const out: MediaRef[] = [];
    for (const n of names.filter((n) => n.endsWith('.json'))) {
      const ref = await this.get(hash, n.slice(0, -5)).catch(() => null);
      if (ref) out.push(ref);
    }
    return out;
  }

  async delete(hash: string, chatId: string): Promise<void> {
    await rm(this.fileOf(hash, chatId), { force: true });
    // The blob's directory goes with its last reference (ENOTEMPTY: others remain).
    await rmdir(this.dirOf(hash)).catch(() => {});
  }
}
