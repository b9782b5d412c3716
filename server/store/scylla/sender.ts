// The batching sender: puts a commit's writes on the wire in one round,
// grouped by replica into small unlogged batches, at most
// requests_in_flight_max requests at once (./limiter.ts).
import { type Client } from 'cassandra-driver';
import { type ScyllaConfig } from './config';
import { type FenceGate } from './fences';
import { type InFlightLimiter } from './limiter';
import { type RequestOptions } from './statements';

/** A statement of a commit: query, parameters, and the serialized partition key (routing and batch grouping). */
export type Write = [query: string, params: unknown[], routingKey: Buffer];

/** Rough bytes a statement adds to a batch (values plus framing), to stay under the server's batch size warning. */
function writeBytes(w: Write): number {
  let n = 16 + w[2].length;
  for (const v of w[1]) n += Buffer.isBuffer(v) ? v.length : typeof v === 'string' ? v.length : 8;
  return n;
}

export class WriteSender {
  constructor(
    private readonly client: Client,
    private readonly config: ScyllaConfig,
    private readonly limiter: InFlightLimiter,
    private readonly write: RequestOptions['write'],
  ) {}

  /**
   * Send a commit's writes. With batching on (batch_statements_max > 1), writes
   * whose partitions live on the same replica go together in unlogged batches
   * of at most batch_statements_max statements / batch_bytes_max bytes, routed
   * to that replica: one request instead of many, and no extra hop (the
   * coordinator owns every partition of its batch). Unlogged: no batch log, no
   * atomicity across partitions, which a commit does not need (every write is
   * an idempotent upsert; a failed commit is not acknowledged and is retried by
   * the client). Otherwise one request per write.
   */
  async send(writes: Write[], gate: FenceGate | null = null, timestamp?: number): Promise<void> {
    const maxStatements = this.config.batch_statements_max;
    // A fenced commit's requests: handed to the driver only while its fence check is fresh, no retry after (fences.ts),
    // and stamped with the time taken before that check (late-rows.ts).
    const options = gate ? { ...this.write, retry: gate.retry, ...(timestamp !== undefined ? { timestamp } : {}) } : this.write;
    if (maxStatements <= 1 || writes.length <= 1) {
      await this.limiter.forEach(writes, async (w) => {
        const wait = gate?.beforeWrite();
        if (wait) await wait;
        return this.client.execute(w[0], w[1], options);
      });
      return;
    }
    const requests = this.batches(this.byReplica(writes), maxStatements);
    await this.limiter.forEach(requests, async (r) => {
      const wait = gate?.beforeWrite();
      if (wait) await wait;
      return r.length === 1
        ? this.client.execute(r[0]![0], r[0]![1], options)
        : this.client.batch(r.map((w) => ({ query: w[0], params: w[1] })), { ...options, logged: false, routingKey: r[0]![2] });
    });
  }

  /** The writes grouped by the first replica of their partition ('' when the driver knows none). */
  private byReplica(writes: Write[]): Map<string, Write[]> {
    const byReplica = new Map<string, Write[]>();
    for (const w of writes) {
      const replicas = this.client.getReplicas(this.config.keyspace, w[2]);
      const key = replicas && replicas.length > 0 ? replicas[0]!.address : '';
      let group = byReplica.get(key);
      if (!group) byReplica.set(key, (group = []));
      group.push(w);
    }
    return byReplica;
  }

  /** Each replica's writes cut into batches of at most maxStatements statements / batch_bytes_max bytes. */
  private batches(byReplica: Map<string, Write[]>, maxStatements: number): Write[][] {
    const requests: Write[][] = [];
    const maxBytes = this.config.batch_bytes_max;
    for (const group of byReplica.values()) {
      let batch: Write[] = [];
      let bytes = 0;
      for (const w of group) {
        const size = writeBytes(w);
        if (batch.length > 0 && (batch.length >= maxStatements || bytes + size > maxBytes)) {
          requests.push(batch);
          batch = [];
          bytes = 0;
        }
        batch.push(w);
        bytes += size;
      }
      if (batch.length > 0) requests.push(batch);
    }
    return requests;
  }
}
