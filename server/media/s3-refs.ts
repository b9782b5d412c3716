// References (refs.ts) as S3 objects: refs/<hash>/<chat id>, in the blob
// store's bucket. A PutObject replaces a record atomically. The collector's
// marks (refs.ts BlobMark) are empty objects beside them:
// refs/<hash>/condemned-<ms>.mark, so one listing shows references and marks.
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { assertBlobHash } from './blob-store';
import { decodeRef, encodeRef, markName, parseMarkName, REF_CHAT_ID_RE, type BlobMark, type BlobRecords, type MediaRef, type RefStore } from './refs';

const PREFIX = 'refs/';
/** References listed per blob: a blob forwarded to more chats than this keeps the rest alive but lists only these. */
const REFS_PER_BLOB_LISTED_MAX = 1000;

export class S3RefStore implements RefStore {
  constructor(private readonly client: S3Client, private readonly bucket: string) {}

  private keyOf(hash: string, chatId: string): string {
    assertBlobHash(hash);
    if (!REF_CHAT_ID_RE.test(chatId)) throw new Error(`not a chat id: ${JSON.stringify(chatId).slice(0, 80)}`);
    return `${PREFIX}${hash}/${chatId}`;
  }

  async put(ref: MediaRef): Promise<void> {
    await this.client.send(new PutObjectCommand({
      Bucket: this.bucket, Key: this.keyOf(ref.hash, ref.chat_id), Body: encodeRef(ref), ContentType: 'application/json',
    }));
  }

  async get(hash: string, chatId: string): Promise<MediaRef | null> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.keyOf(hash, chatId) }));
      return decodeRef(Buffer.from(await out.Body!.transformToByteArray()));
    } catch (err) {
      if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return null;
      throw err;
    }
  }

  async ofBlob(hash: string): Promise<MediaRef[]> {
    return (await this.scan(hash)).refs;
  }

  /** The names of the blob's records (references and marks), one listing. */
  private async names(hash: string): Promise<string[]> {
    assertBlobHash(hash);
    const list = await this.client.send(new ListObjectsV2Command({
      Bucket: this.bucket, Prefix: `${PREFIX}${hash}/`, MaxKeys: REFS_PER_BLOB_LISTED_MAX,
    }));
    return (list.Contents ?? []).map((o) => (o.Key ?? '').slice(PREFIX.length + hash.length + 1));
  }

  async scan(hash: string): Promise<BlobRecords> {
    const names = await this.names(hash);
    const refs: MediaRef[] = [];
    for (const n of names.filter((n) => REF_CHAT_ID_RE.test(n))) {
      const ref = await this.get(hash, n).catch(() => null);
      if (ref) refs.push(ref);
    }
    return { refs, marks: marksOf(names) };
  }

  async marks(hash: string): Promise<BlobMark[]> {
    return marksOf(await this.names(hash));
  }

  async putMark(hash: string, mark: BlobMark): Promise<void> {
    assertBlobHash(hash);
    await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: `${PREFIX}${hash}/${markName(mark)}`, Body: Buffer.alloc(0) }));
  }

  async deleteMark(hash: string, mark: BlobMark): Promise<void> {
    assertBlobHash(hash);
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: `${PREFIX}${hash}/${markName(mark)}` }));
  }

  async delete(hash: string, chatId: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.keyOf(hash, chatId) }));
  }
}

function marksOf(names: string[]): BlobMark[] {
  return names.map(parseMarkName).filter((m): m is BlobMark => m !== null);
}
