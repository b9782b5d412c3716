// Which etcd members a client should prefer. The etcd3 library picks a random
// host per call and per stream; with one member down (kill -9) or frozen, a
// third of the calls and of the reopened keepalive and watch streams would go
// to it again. This host policy (etcd3's faultHandling.host) remembers the
// hosts that failed in the last few seconds and skips them while another host
// has not failed: it never holds a call back (when every host failed recently,
// the call goes through), so a single endpoint behaves as with no policy.
import { GRPCUnavailableError, isRecoverableError } from 'etcd3';

/** How long a failed host is passed over (then it is tried again: a restarted member comes back into use). */
const FORGET_MS = 3000;

/** An UNAVAILABLE of our own: when every host a call went through was skipped, the client's retry tries again. */
class HostSkipped extends GRPCUnavailableError {
  constructor(host: string) {
    super(`etcd host ${host} failed recently; trying another`);
  }
}

function looksLikeStream(x: unknown): x is object {
  return typeof x === 'object' && x !== null && typeof (x as { on?: unknown }).on === 'function' && typeof (x as { write?: unknown }).write === 'function';
}

export class HostHealth {
  private readonly failedAt = new Map<string, number>();
  /** Which host each open stream went to (so a stalled stream can be blamed on its host). */
  private readonly streams = new WeakMap<object, string>();
  skipped = 0;

  constructor(
    private readonly hosts: readonly string[],
    private readonly forgetMs = FORGET_MS,
  ) {}

  sick(host: string): boolean {
    const t = this.failedAt.get(host);
    return t !== undefined && Date.now() - t < this.forgetMs;
  }

  fail(host: string): void {
    this.failedAt.set(host, Date.now());
  }

  /** The stream did not answer or broke: pass its host over for a while. */
  streamFailed(stream: object): void {
    const host = this.streams.get(stream);
    if (host) this.fail(host);
  }

  /** The policy etcd3 runs every call and stream opening of `host` through (the `execute` it uses). */
  policy(host: string): { execute<T>(fn: () => PromiseLike<T> | T): Promise<T> } {
    return {
      execute: async <T>(fn: () => PromiseLike<T> | T): Promise<T> => {
        if (this.sick(host) && this.hosts.some((h) => h !== host && !this.sick(h))) {
          this.skipped++;
          throw new HostSkipped(host);
        }
        try {
          const res = await fn();
          // A stream "succeeds" at once, before it ever reached the host: only a unary answer clears a failure.
          if (looksLikeStream(res)) this.streams.set(res, host);
          else this.failedAt.delete(host);
          return res;
        } catch (err) {
          if (err instanceof Error && isRecoverableError(err)) this.fail(host);
          throw err;
        }
      },
    };
  }
}
