// A gateway's graceful shutdown (SIGTERM): drain, then close. While draining,
// /healthz answers 503 and upgrades are refused, so the load balancer's health
// checks take this gateway out within their bound and every reconnect lands on
// another gateway. After gateway_drain_ms (or sooner, once no socket is left)
// the remaining sockets are closed with 1001 GOING_AWAY: clients reconnect
// through the load balancer and their offline queues drain there.
import type { Gateway } from './gateway';

/** How often the drain looks whether every socket is gone already. */
const DRAIN_POLL_MS = 50;

export async function drainAndClose(gateway: Gateway, drainMs: number, log: (line: string) => void): Promise<void> {
  const startMs = Date.now();
  gateway.startDrain();
  log(`draining: ${gateway.openSockets} sockets, up to ${drainMs} ms`);
  while (gateway.openSockets > 0 && Date.now() - startMs < drainMs) {
    await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS));
  }
  const left = gateway.openSockets;
  await gateway.close();
  log(`drained in ${Date.now() - startMs} ms: ${left} sockets closed with 1001`);
}
