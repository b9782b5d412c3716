// A run's faults from setup to summary, so the coordinator (./run.ts) makes
// four calls: open (setup: provision and connect the probe's users, check the
// faults against the processes), start (the measured window begins), finish
// (the schedule is done, or the run failed: faults not begun are cancelled,
// nothing stays frozen, the probe disconnects) and report (the per-fault
// summary and its warnings into the run's summary).
import type { RunPlan } from '../model/plan';
import { FaultExecutor, type FaultRecord } from './fault-executor';
import { faultReport } from './fault-report';
import type { FaultSide } from './fault-targets';
import { READINESS_PERIOD_MS, ReadinessMonitor, type ReadinessChange } from './readiness-monitor';
import { PROBE_CHATS, PROBE_PERIOD_MS, ServiceProbe } from './service-probe';
import type { RunSummary } from './summary';
import type { IntervalRecord } from './timeline';

export interface FaultSessionOptions {
  plan: RunPlan;
  side: FaultSide;
  secret: string;
  /** The probe's users: firstUser .. firstUser + 2 x PROBE_CHATS - 1 (fresh ids after the run's). */
  firstUser: number;
  provision: (firstUser: number, count: number) => Promise<void>;
  log: (line: string) => void;
}

export class FaultSession {
  private records: FaultRecord[] = [];
  private finishing: Promise<void> | null = null;

  private readonly readiness: ReadinessMonitor;

  private constructor(private readonly executor: FaultExecutor, private readonly probe: ServiceProbe, private readonly side: FaultSide) {
    this.readiness = new ReadinessMonitor(side.ready);
  }

  static async open(o: FaultSessionOptions): Promise<FaultSession> {
    await o.provision(o.firstUser, 2 * PROBE_CHATS);
    const probe = new ServiceProbe({ urls: o.side.probeUrls, secret: o.secret, firstUser: o.firstUser });
    try {
      await probe.start();
      const executor = new FaultExecutor(o.plan.faults, o.side.targets, o.log, probe);
      o.log(`setup: ${o.plan.faults.length} fault(s) planned on ${o.side.targets.description}; ${PROBE_CHATS} probe chats measure when service is back`);
      return new FaultSession(executor, probe, o.side);
    } catch (err) {
      await probe.stop();
      throw err;
    }
  }

  /** Each fault's window so far (the executor's live records: outputs mark the intervals a fault overlaps). */
  windows(): readonly FaultRecord[] {
    return this.executor.records;
  }

  start(measuredStartEpochMs: number): void {
    this.executor.start(measuredStartEpochMs);
    this.readiness.start();
  }

  /** Idempotent: the schedule's end and the teardown both call it. */
  finish(): Promise<void> {
    this.finishing ??= (async () => {
      this.records = await this.executor.finish();
      await this.probe.stop();
      await this.readiness.stop();
    })();
    return this.finishing;
  }

  report(summary: RunSummary, timeline: readonly IntervalRecord[], intervalMs: number, measuredStartEpochMs: number, lostTotal: number): void {
    const p = this.probe;
    const r = faultReport(this.records, {
      probe: new Map(this.records.map((x) => [x.id, p.outcome(x.id)])),
      probeMethod: `client side: ${p.chats} probe 1:1 chats (own users, senders spread over the gateways) send one message each every ` +
        `${PROBE_PERIOD_MS} ms; served again = every chat has a sent ack for a send issued after the disruption began`,
      readiness: this.readinessChanges(measuredStartEpochMs),
      readinessMethod: `server side, every ${READINESS_PERIOD_MS} ms: ${this.side.readyMeaning}`,
    }, timeline, intervalMs, measuredStartEpochMs, lostTotal);
    summary.reports.faults = r;
    for (const f of r.faults) {
      if (f.errors.length) summary.loadgen.warnings.push(`fault #${f.id} (${f.label}) did not run as declared: ${f.errors.join('; ')}`);
      else if (f.served_again_at_s === null) summary.loadgen.warnings.push(`fault #${f.id} (${f.label}): not every probe chat was served again before the run ended`);
    }
  }

  /** Per fault: readiness lost and back after its disruption, looking no further than the next fault's start for the loss. */
  private readinessChanges(t0: number): Map<number, ReadinessChange | null> {
    const out = new Map<number, ReadinessChange | null>();
    for (const r of this.records) {
      if (r.down_ms === null || r.started_ms === null) {
        out.set(r.id, null);
        continue;
      }
      const next = this.records.map((o) => o.started_ms).filter((x): x is number => x !== null && x > r.started_ms!).sort((a, b) => a - b)[0];
      out.set(r.id, this.readiness.changeAfter(t0 + r.started_ms, next === undefined ? Infinity : t0 + next));
    }
    return out;
  }
}
