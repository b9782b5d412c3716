// Ids of registered users (1, 2, 3, ... below PROVISIONED_USER_ID_MIN): a
// counter row moved by compare-and-set (LWT), one allocation at a time per
// process.
import { errors, types, type Client } from 'cassandra-driver';
import { PROVISIONED_USER_ID_MIN } from '../../common/ids';
import { num } from './cells';
import { SCYLLA_STORE_LIMITS } from '../../common/config-scylla';
import { type RequestOptions, type Statements } from './statements';

const USER_ID_COUNTER = 'user_id';

export class RegisteredIds {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly client: Client,
    private readonly q: Statements,
    private readonly options: Pick<RequestOptions, 'read' | 'lwt'>,
  ) {}

  /**
   * The next registration id: compare-and-set on a counter row (LWT). Calls in
   * this process queue behind each other, so they do not contend with
   * themselves; other nodes' registrations only cost a retry.
   */
  next(): Promise<number> {
    const next = this.queue.then(() => this.casCounter());
    this.queue = next.catch(() => {});
    return next;
  }

  private async casCounter(): Promise<number> {
    const { lwt } = this.options;
    let current = await this.readCurrent();
    for (let attempt = 0; attempt < SCYLLA_STORE_LIMITS.id_alloc_attempts_max; attempt++) {
      const next = (current ?? 0) + 1;
      if (next >= PROVISIONED_USER_ID_MIN) throw new Error(`registration ids exhausted (${PROVISIONED_USER_ID_MIN - 1} users)`);
      try {
        const rs = current === null
          ? await this.client.execute(this.q.counterInit, [USER_ID_COUNTER, next], lwt)
          : await this.client.execute(this.q.counterCas, [next, USER_ID_COUNTER, current], lwt);
        const row = rs.first();
        if (row['[applied]']) return next;
        current = num(row.value);
      } catch (err) {
        // A CAS write timeout may or may not have applied: read the truth and go on (an id may be skipped, never reused).
        if (!(err instanceof errors.ResponseError && err.code === types.responseErrorCodes.writeTimeout)) throw err;
        current = await this.readCurrent();
      }
    }
    throw new Error(`registration id: no compare-and-set succeeded in ${SCYLLA_STORE_LIMITS.id_alloc_attempts_max} attempts (contention)`);
  }

  /** The counter as a serial read sees it (null: no id handed out yet). */
  private async readCurrent(): Promise<number | null> {
    const serial = { ...this.options.read, consistency: types.consistencies.localSerial };
    const row = (await this.client.execute(this.q.counterGet, [USER_ID_COUNTER], serial)).first();
    return row ? num(row.value) : null;
  }
}
