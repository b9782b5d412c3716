// Source ports the generator picks itself for connections bound to a local
// address (--local-addresses, and every --procs child's 127.0.1.x).
//
// Why: with port 0 the kernel searches for a free port on every bind, and
// once half of the ephemeral range (32768-60999 here: ~14k ports) is taken
// that search walks the ports in use: measured on this box, one process
// connecting to one loopback listener, ~30-50 µs of CPU per connect up to
// 14,000 open connections, then ~1,000 µs (almost all system time) from
// 15,000 on, with one or two source addresses alike (the search is over
// ports, not addresses). An explicit (address, port) bind is a hash lookup.
// Collisions (another thread or process on the same address, a listener on
// 0.0.0.0:port) fail the bind or the connect; the caller then takes the next
// port, a bounded number of times.
import { threadId } from 'node:worker_threads';

export const SOURCE_PORT_MIN = 10_000;
export const SOURCE_PORT_MAX = 65_000;
/** Ports tried per connect before giving up (each failed try costs one bind or connect). */
export const SOURCE_PORT_ATTEMPTS_MAX = 16;
/** Where each thread starts in the range, so that the threads of one process sharing an address rarely collide. */
const THREAD_STRIDE_PORTS = 7_919;

/** The next port to try per local address, cycling through [SOURCE_PORT_MIN, SOURCE_PORT_MAX]. */
export class SourcePorts {
  private readonly next = new Map<string, number>();

  constructor(private readonly start: number) {}

  take(address: string): number {
    const span = SOURCE_PORT_MAX - SOURCE_PORT_MIN + 1;
    const at = this.next.get(address) ?? this.start % span;
    this.next.set(address, (at + 1) % span);
    return SOURCE_PORT_MIN + at;
  }
}

/** This thread's allocator. */
export const sourcePorts = new SourcePorts(threadId * THREAD_STRIDE_PORTS);

/** A connect that failed because its (address, port) was taken: try the next port. */
export function sourcePortTaken(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code;
  return code === 'EADDRINUSE' || code === 'EADDRNOTAVAIL';
}
