// One etcd client the way the cluster code wants it: no hidden retries or
// circuit breakers (our loops retry on their own clock: a keepalive that the
// library held back for five seconds would cost the node its lease), watches
// that reconnect within a second, and a fast, clear failure when no endpoint
// answers at start.
import { Etcd3 } from 'etcd3';
import { ExponentialBackoff, noop } from 'cockatiel';
import { withTimeout } from '../../lib/async';

export function etcdClient(endpoints: readonly string[]): Etcd3 {
  return new Etcd3({
    hosts: [...endpoints],
    dialTimeout: 2000,
    faultHandling: {
      host: () => noop,
      global: noop,
      // cockatiel 3 backoffs are factories; etcd3's typings still describe the v2 interface.
      watchBackoff: new ExponentialBackoff({ initialDelay: 50, maxDelay: 1000 }) as never,
    },
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + 3000 }),
  });
}

/** Resolve when etcd answers a read; reject with one clear line within `timeoutMs` otherwise. */
export async function checkEtcd(client: Etcd3, endpoints: readonly string[], timeoutMs = 4000): Promise<void> {
  try {
    await withTimeout(client.get('/wa/ping').string(), timeoutMs, 'etcd');
  } catch (err) {
    throw new Error(`etcd at ${endpoints.join(',')} is unreachable (${err instanceof Error ? err.message : String(err)}): check WA_CLUSTER_ETCD`);
  }
}
