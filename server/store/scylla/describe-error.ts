// Driver errors as one line, for the store's errors and the migrate command.
import { errors } from 'cassandra-driver';

/** One line for a driver error: which hosts failed and why, not a stack of wrappers. */
export function describeError(err: unknown): string {
  if (err instanceof errors.NoHostAvailableError) {
    const inner = Object.entries((err.innerErrors ?? {}) as Record<string, unknown>)
      .map(([host, e]) => `${host}: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
    return inner.length > 0 ? `no node answered (${inner.join('; ')})` : err.message;
  }
  return err instanceof Error ? err.message.split('\n')[0]! : String(err);
}
