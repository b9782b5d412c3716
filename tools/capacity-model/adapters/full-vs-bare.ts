// Adapter (b): the JSON of `node dist/bench/full-vs-bare.js --json <file>`: a
// rate ramp through the whole system (`full`) and through the bare uWS
// forwarder (`bare`), stopped at the first stage whose p99 passed 100 ms. The
// full side gives the node figures and the USL points; the bare side is quoted
// as the socket tier's ceiling on the same machine.
import type { Measurements } from '../measured';
import { figuresFromPairLoad } from './pair-load-summary';
import { asStages, pickSustainedStage } from './stages';

export function looksLikeFullVsBare(json: Record<string, unknown>): boolean {
  const full = json.full as Record<string, unknown> | undefined;
  return typeof full === 'object' && full !== null && typeof json.bare === 'object' && typeof full.result === 'object';
}

export function fromFullVsBare(json: Record<string, unknown>, source: string, p99MsMax: number): Measurements {
  const full = json.full as Record<string, unknown>;
  const stages = asStages((full.result as Record<string, unknown>).stages, `${source} (full)`);
  const out = figuresFromPairLoad({
    stages,
    cpuSeconds: full.cpuSeconds as Record<string, unknown> | undefined,
    source: `${source} (full path)`,
    p99MsMax,
    storeEngine: 'embedded-sqlite',
  });
  const bare = json.bare as Record<string, unknown>;
  const bareResult = bare.result as Record<string, unknown> | undefined;
  if (bareResult) {
    const held = pickSustainedStage(asStages(bareResult.stages, `${source} (bare)`), p99MsMax).held;
    if (held) out.notes.push(`${source}: the bare uWS forwarder held ${held.rate} msgs/s on the same machine (the socket tier's ceiling)`);
  }
  out.notes.push(`${source}: full-vs-bare does not record its machine; the CPU-bound extrapolation counts per core`);
  return out;
}
