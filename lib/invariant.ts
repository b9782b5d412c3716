// Assertions on what must hold (TIGER_STYLE): a broken invariant throws, so a
// test crashes at the line that broke it instead of the system corrupting
// state silently. In the chat service an invariant that fails inside a tick
// ends the process (an unhandled rejection): a restart replays from the store,
// which is safer than serving from state known to be wrong.
//
// Cost: one call and one branch; `what` is a constant string so the hot path
// allocates nothing. Use it for conditions that only a bug can break, never
// for outside input (that is validation, with an error code for the client).

export class InvariantError extends Error {
  override readonly name = 'InvariantError';
}

export function invariant(condition: unknown, what: string): asserts condition {
  if (!condition) throw new InvariantError(`invariant broken: ${what}`);
}
