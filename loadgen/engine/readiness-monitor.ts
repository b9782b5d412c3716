// The server side of "served again": while the measured window lasts, ask
// the system every READINESS_PERIOD_MS whether it is ready (every gateway up
// and routing every partition: ./fault-sides.ts) and keep the answers, so the
// report can say, per fault, when readiness was lost and when it came back.
// It complements the client-side probe (./service-probe.ts): a frozen process
// keeps its sockets open and may still look ready here while no client is
// served, and a health check says nothing of the clients' reconnects.
//
// Cost: one /healthz per gateway per period. Memory: one sample per period,
// at most READINESS_SAMPLES_MAX (a 6 h run at 200 ms is 108,000).

export const READINESS_PERIOD_MS = 200;
const READINESS_SAMPLES_MAX = 120_000;

export interface ReadinessChange {
  /** Epoch ms of the first sample after `fromEpochMs` that said not ready (null: never). */
  lost_epoch_ms: number | null;
  /** Epoch ms of the first ready sample after that (null: not within the run). */
  back_epoch_ms: number | null;
}

export class ReadinessMonitor {
  private readonly at: number[] = [];
  private readonly ok: boolean[] = [];
  private stopped = false;
  private loop: Promise<void> | null = null;

  constructor(private readonly ready: () => Promise<boolean>, private readonly periodMs = READINESS_PERIOD_MS) {}

  /** Samples taken so far. */
  get samples(): number {
    return this.at.length;
  }

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }

  /** After `fromEpochMs` (a fault's disruption): when readiness was first lost, and when it came back. */
  changeAfter(fromEpochMs: number, untilEpochMs = Infinity): ReadinessChange {
    let lost: number | null = null;
    for (let k = 0; k < this.at.length; k++) {
      const t = this.at[k]!;
      if (t < fromEpochMs) continue;
      if (lost === null) {
        if (t > untilEpochMs) break;
        if (!this.ok[k]) lost = t;
      } else if (this.ok[k]) return { lost_epoch_ms: lost, back_epoch_ms: t };
    }
    return { lost_epoch_ms: lost, back_epoch_ms: null };
  }

  private async run(): Promise<void> {
    while (!this.stopped && this.at.length < READINESS_SAMPLES_MAX) {
      const started = Date.now();
      const ok = await this.ready().catch(() => false);
      this.at.push(started);
      this.ok.push(ok);
      await new Promise((r) => setTimeout(r, Math.max(0, started + this.periodMs - Date.now())));
    }
  }
}
