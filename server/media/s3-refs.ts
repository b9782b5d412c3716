// References (refs.ts) as S3 objects: refs/<hash>/<chat id>, in the blob
// store's bucket. A PutObject replaces a record atomically.
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { assertBlobHash } from './blob-store';
import { decodeRef, encodeRef, REF_CHAT_ID_RE, type MediaRef, type RefStore } from './refs';

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
    assertBlobHash(hash);
    const list = await this.client.send(new ListObjectsV2Command({
      Bucket: this.bucket, Prefix: `${PREFIX}${hash}/`, MaxKeys: REFS_PER_BLOB_LISTED_MAX,
    }));
    const out: MediaRef[] = [];
    for (const o of list.Contents ?? []) {
      const ref = await this.get(hash, (o.Key ?? '').slice(PREFIX.length + hash.length + 1)).catch(() => null);
      if (ref) out.push(ref);
    }
    return out;
  }

  async delete(hash: string, chatId: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.keyOf(hash, chatId) }));
  }
}
