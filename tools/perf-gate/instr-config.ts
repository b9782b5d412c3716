// Every limit and default of the deterministic (callgrind) gate, each with why.
export const INSTR_WORKLOAD = {
  /** Pairs sending in each round: a tick carries this many messages, as a busy chat service's does. */
  pairs: 10,
  /** A typical text message's ciphertext size. */
  body_bytes: 100,
  /** Measured messages per section: enough that fixed costs per section are < 1%, one run ~30 s under callgrind. */
  messages: 2000,
  /** Messages run before the measured part: the JIT's tier-ups and the caches' first fills are not the steady path. */
  warmup: 500,
  /** A bound on --messages/--warmup: 20,000 is already several minutes under callgrind. */
  messages_max: 20_000,
  /** Units in the work-unit probe: enough that the probe's own call overhead is noise. */
  units_probe: 1000,
  units_probe_max: 100_000,
  /** A bound on the aid's units per message passed to the workload (config's DEBUG_SLOWDOWN_WORK_MAX is the process bound). */
  work_max: 100_000,
} as const;
