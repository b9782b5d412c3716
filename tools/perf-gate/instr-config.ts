// Every limit and default of the deterministic (callgrind) gate, each with why.
export const INSTR_WORKLOAD = {
  /** Pairs sending in each round: a tick carries this many messages, as a busy chat service's does. */
  pairs: 10,
  /** A typical text message's ciphertext size. */
  body_bytes: 100,
  /** Measured messages per section: enough that fixed costs per section are < 1%, one run ~30 s under callgrind. */
  messages: 2000,
  /**
   * Messages run before the measured part: the JIT's tier-ups and the caches' first fills are not the steady path.
   * With --predictable V8 compiles on the main thread, where callgrind counts it: after 500 messages the figure was
   * mostly compiles (gateway ~185k instr/msg against ~20.7k warmed, chat ~441k against ~104-137k); after 5,000 it is
   * the optimized code a busy server runs (docs/perf-gate.md).
   */
  warmup: 5000,
  /** A bound on --messages/--warmup: 20,000 is already several minutes under callgrind. */
  messages_max: 20_000,
  /** Units in the work-unit probe (a multiple of 10: it calls 10 at a time). */
  units_probe: 1000,
  /** Client frames per message in the gateway section (the send and the recipient's ack): the gateway aid is per frame. */
  gateway_frames_per_msg: 2,
  units_probe_max: 100_000,
  /** A bound on the aid's units per message passed to the workload (config's DEBUG_SLOWDOWN_WORK_MAX is the process bound). */
  work_max: 100_000,
} as const;

/** The A/B gate's limits (tools/perf-gate/instr-gate.ts). */
export const INSTR_GATE = {
  /** Runs per side, interleaved ABAB: 2 shows the figure repeats; the figure itself varies < 0.001% run to run. */
  runs: 2,
  runs_max: 10,
  /** A metric fails past +2%: 4x below the 5-10% slowdowns to catch, > 1000x above the run-to-run spread (~2e-6). */
  bound_pct: 2,
  /** A side whose runs differ by more than this is not deterministic here: the gate cannot judge rather than guess. */
  spread_max_pct: 0.5,
  /** One callgrind run (5,000 + 2,000 messages) takes ~60 s alone on the 2-core box, ~150 s under load 8; a hung one is killed. */
  run_timeout_ms: 480_000,
  /** Building the baseline worktree with tsc takes ~1-2 min under load. */
  build_timeout_ms: 600_000,
  /** The whole gate's bound (CI passes its own; .ci/run also wraps it in `timeout`). */
  budget_s: 900,
  /** Percent slowdowns asked of the test aid: above 100% is not a slowdown the gate needs showing. */
  slowdown_pct_max: 100,
} as const;
