// One etcd client the way the cluster code wants it: no hidden circuit
// breakers (our loops retry on their own clock: a keepalive that the library
// held back for five seconds would cost the node its lease), watches that
// reconnect within a second, and a fast, clear failure when no endpoint
// answers at start. With several endpoints (a 3-member cluster) a member that
// dies must not cost anything: hosts that just failed are passed over
// (etcd-hosts.ts), and a unary call that meets an unavailable member or a
// leader election is retried a few times on another member within ~1 s.
// Streams (lease keepalive, watches) are not retried here: membership.ts
// reopens its keepalive stream itself, etcd3's watcher reconnects on its own.
import { Etcd3, GRPCUnavailableError } from 'etcd3';
import { ExponentialBackoff, handleType, noop, retry } from 'cockatiel';
import { withTimeout } from '../../lib/async';
import { HostHealth } from './etcd-hosts';

const healthOf = new WeakMap<Etcd3, HostHealth>();

export function etcdClient(endpoints: readonly string[]): Etcd3 {
  const health = new HostHealth(endpoints);
  const client = new Etcd3({
    hosts: [...endpoints],
    dialTimeout: 2000,
    faultHandling: {
      host: endpoints.length > 1 ? (h: string) => health.policy(h) as never : () => noop,
      // Only UNAVAILABLE (refused, reset, "leader changed"): a deadline or another error is the caller's to handle.
      global: endpoints.length > 1
        ? retry(handleType(GRPCUnavailableError), { maxAttempts: 4, backoff: new ExponentialBackoff({ initialDelay: 50, maxDelay: 400 }) })
        : noop,
      // cockatiel 3 backoffs are factories; etcd3's typings still describe the v2 interface.
      watchBackoff: new ExponentialBackoff({ initialDelay: 50, maxDelay: 1000 }) as never,
    },
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + 3000 }),
  });
  healthOf.set(client, health);
  return client;
}

/** A stream of this client stalled or broke: its member is passed over for a few seconds (no-op for other clients). */
export function etcdStreamFailed(client: Etcd3, stream: object): void {
  healthOf.get(client)?.streamFailed(stream);
}

/**
 * Resolve when etcd answers a read; reject with one clear line within `timeoutMs` otherwise. With several
 * endpoints it retries meanwhile (an election after a member's death fails reads for a moment); with one,
 * the first error is the answer (a wrong address fails at once).
 */
export async function checkEtcd(client: Etcd3, endpoints: readonly string[], timeoutMs = 4000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = deadline - Date.now();
    try {
      await withTimeout(client.get('/wa/ping').string(), Math.max(1, left), 'etcd');
      return;
    } catch (err) {
      if (endpoints.length === 1 || Date.now() + 200 >= deadline) {
        throw new Error(`etcd at ${endpoints.join(',')} is unreachable (${err instanceof Error ? err.message : String(err)}): check WA_CLUSTER_ETCD`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
