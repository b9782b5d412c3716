// The send accounting: every scheduled send (an iteration of a chat or group
// workload) ends as exactly one of
//   ok             the target acknowledged it (bare targets: it was delivered)
//   failed         with a reason: a server error code, timeout, outbox_full,
//                  no_sender, reconnect_failed
//   dropped        the generator never started it (no free VU when it was due)
//   queued_at_end  still in an outbox or unanswered on the wire when the run ended
// so that sends_scheduled = sends_ok + sends_failed + sends_dropped +
// sends_queued_at_end, which the summary checks (engine/summary.ts). Each is
// its own counter, counted where the outcome happens, so the check can fail.
// send_success is the share of scheduled sends that were ok.
import type { MetricsRegistry } from '../metrics/registry';

/** Why a send failed, when the target did not say (its error code is the reason otherwise). */
export const SendFailure = {
  /** No reply within iterationTimeout (counted from when the send was made). */
  TIMEOUT: 'timeout',
  /** The sender's outbox was full while its connection was down. */
  OUTBOX_FULL: 'outbox_full',
  /** Nobody was there to send (no user online or reconnecting). */
  NO_SENDER: 'no_sender',
  /** The sender gave up reconnecting with sends still in its outbox. */
  RECONNECT_FAILED: 'reconnect_failed',
} as const;

export class SendOutcomes {
  constructor(private readonly metrics: MetricsRegistry) {}

  scheduled(scenario: number): void {
    this.metrics.counter.sends_scheduled.add(1, scenario);
  }

  ok(scenario: number): void {
    const m = this.metrics;
    m.counter.sends_ok.add(1, scenario);
    m.rate.send_success.add(true, scenario);
  }

  failed(scenario: number, reason: string): void {
    const m = this.metrics;
    m.counter.sends_failed.add(1, scenario);
    m.addLabelled('sends_failed', 'reason', reason);
    m.rate.send_success.add(false, scenario);
  }

  dropped(scenario: number): void {
    const m = this.metrics;
    m.counter.sends_dropped.add(1, scenario);
    m.rate.send_success.add(false, scenario);
  }

  queuedAtEnd(scenario: number): void {
    const m = this.metrics;
    m.counter.sends_queued_at_end.add(1, scenario);
    m.rate.send_success.add(false, scenario);
  }

  /** A send went into its sender's outbox for the first time. */
  outboxed(scenario: number): void {
    this.metrics.counter.sends_outboxed.add(1, scenario);
  }

  /** A send was written to the target a second time. */
  retried(scenario: number): void {
    this.metrics.counter.sends_retried.add(1, scenario);
  }
}
