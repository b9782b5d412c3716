// SHA-256 of blobs: of a buffer, or of a staged file read in bounded steps
// (BLOB_STORE_LIMITS.hash_read_bytes) so a 100 MB upload is never one buffer.
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { BLOB_STORE_LIMITS } from '../common/config-media';

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The hex SHA-256 and size of a file. */
export async function hashFile(path: string): Promise<{ hash: string; size: number }> {
  const h = createHash('sha256');
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(BLOB_STORE_LIMITS.hash_read_bytes);
    let size = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, size);
      if (bytesRead === 0) break;
      h.update(buf.subarray(0, bytesRead));
      size += bytesRead;
    }
    return { hash: h.digest('hex'), size };
  } finally {
    await fh.close();
  }
}
