// A device's media calls over HTTP (server/gateway/media-endpoint.ts): open an
// upload, send its chunks at offsets (resuming from the committed offset when
// told), ask where an upload stands, download whole or by range. Used by the
// tests and, later, the load generator's media messages. Node's fetch (undici)
// keeps connections alive between calls.

export interface MediaAnswer {
  status: number;
  json: Record<string, unknown>;
}

export interface Download {
  status: number;
  headers: Headers;
  bytes: Buffer;
}

export interface MediaDeclaration {
  chat_id: string;
  kind: string;
  size: number;
  sha256: string;
}

/** Chunks sent per upload at most: a bound on one upload's loop whatever the server answers. */
const UPLOAD_STEPS_MAX = 100_000;

export class MediaClient {
  constructor(readonly baseUrl: string, private readonly token: string) {}

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return this.token ? { authorization: `Bearer ${this.token}`, ...extra } : extra;
  }

  private async call(method: string, path: string, body?: Buffer | string, extra: Record<string, string> = {}): Promise<MediaAnswer> {
    const r = await fetch(this.baseUrl + path, { method, headers: this.headers(extra), body });
    const text = await r.text();
    let json: Record<string, unknown> = {};
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch {
      json = { raw: text };
    }
    return { status: r.status, json };
  }

  begin(d: MediaDeclaration | Record<string, unknown>): Promise<MediaAnswer> {
    return this.call('POST', '/v1/media/uploads', JSON.stringify(d), { 'content-type': 'application/json' });
  }

  chunk(uploadId: string, offset: number, bytes: Buffer): Promise<MediaAnswer> {
    return this.call('PUT', `/v1/media/uploads/${uploadId}`, bytes, { 'upload-offset': String(offset) });
  }

  progress(uploadId: string): Promise<MediaAnswer> {
    return this.call('GET', `/v1/media/uploads/${uploadId}`);
  }

  /** The whole upload: open, then chunks of `chunkBytes` from the committed offset until complete (or a refusal). */
  async upload(d: MediaDeclaration, bytes: Buffer, chunkBytes: number): Promise<MediaAnswer> {
    let a = await this.begin(d);
    if (a.status !== 201) return a;
    const id = String(a.json.upload_id);
    let offset = Number(a.json.offset);
    for (let step = 0; step < UPLOAD_STEPS_MAX; step++) {
      a = await this.chunk(id, offset, bytes.subarray(offset, Math.min(offset + chunkBytes, bytes.length)));
      if (a.status === 409 && typeof a.json.offset === 'number') offset = a.json.offset;
      else if (a.status !== 200 || a.json.complete) return a;
      else offset = Number(a.json.offset);
    }
    throw new Error(`upload ${id} did not complete in ${UPLOAD_STEPS_MAX} steps`);
  }

  async download(sha256: string, chatId: string, range = ''): Promise<Download> {
    const r = await fetch(`${this.baseUrl}/v1/media/${sha256}?chat=${encodeURIComponent(chatId)}`, {
      headers: this.headers(range ? { range } : {}),
    });
    return { status: r.status, headers: r.headers, bytes: Buffer.from(await r.arrayBuffer()) };
  }
}
