// Adapter (a): the summary.json of `make run-pairs` (loadgen/commands/run-pairs.ts), whose
// `result` is a 1:1 pair-load result (loadgen/engine/pair-load.ts) and whose
// `cpu_seconds` holds each system process's CPU over the run.
//
// The whole system ran on one machine (a gateway, a chat service and the
// embedded store, next to the load generator), so the rate it held is a lower
// bound for a dedicated gateway node, chat node or store node of that size.
import { emptyMeasurements, type Measurements } from '../measured';
import { asStages, cpuUsPerMsg, pickSustainedStage, sustainedFigure, uslPointsFromStages, type StageLike } from './stages';

export interface PairLoadFiguresInput {
  stages: StageLike[];
  /** CPU seconds per process over all stages (keys: gateway, chat; others ignored). */
  cpuSeconds?: Record<string, unknown>;
  source: string;
  p99MsMax: number;
  /** The store engine the system ran on, for the store figure's note. */
  storeEngine: string;
}

/** Figures common to every run made of pair-load stages. */
export function figuresFromPairLoad(input: PairLoadFiguresInput): Measurements {
  const out = emptyMeasurements();
  out.sources.push(input.source);
  const pick = pickSustainedStage(input.stages, input.p99MsMax);
  const gateway = sustainedFigure(pick, input.source, input.p99MsMax, 'whole system on one machine');
  if (typeof gateway === 'string') {
    out.notes.push(`${input.source}: ${gateway}; gateway, chat and store throughput not measured by this run`);
  } else {
    out.figures.gateway_msgs_per_s_at_p99 = gateway;
    out.figures.chat_msgs_per_s_at_p99 = { ...gateway };
    out.figures.store_writes_per_s = {
      ...gateway,
      engine: input.storeEngine,
      note: `${input.storeEngine} store, one message row per 1:1 message; a lower bound (the store was not the bottleneck)`,
    };
  }
  const delivered = input.stages.reduce((a, s) => a + s.delivered, 0);
  for (const [process, field] of [['gateway', 'gateway_cpu_us_per_msg'], ['chat', 'chat_cpu_us_per_msg']] as const) {
    const us = cpuUsPerMsg(input.cpuSeconds?.[process] as number | undefined, delivered);
    if (us === null) continue;
    out.figures[field] = {
      value: us, basis: 'measured', source: input.source,
      note: `${process} CPU over ${delivered} delivered messages (includes the idle cost of the run, so high at low rates)`,
    };
  }
  out.usl_points = uslPointsFromStages(input.stages, input.source);
  return out;
}

export function looksLikePairLoadSummary(json: Record<string, unknown>): boolean {
  const result = json.result as Record<string, unknown> | undefined;
  return Array.isArray(result?.stages) && typeof json.scenario === 'string';
}

export function fromPairLoadSummary(json: Record<string, unknown>, source: string, p99MsMax: number): Measurements {
  const result = json.result as Record<string, unknown>;
  const stages = asStages(result.stages, source);
  const out = figuresFromPairLoad({
    stages,
    cpuSeconds: json.cpu_seconds as Record<string, unknown> | undefined,
    source,
    p99MsMax,
    storeEngine: typeof json.store === 'string' ? json.store : 'embedded-sqlite',
  });
  const machine = json.machine as Record<string, unknown> | undefined;
  if (machine) {
    out.machine = {
      hostname: typeof machine.hostname === 'string' ? machine.hostname : undefined,
      cpus: typeof machine.cpus === 'number' ? machine.cpus : undefined,
      node: typeof machine.node === 'string' ? machine.node : undefined,
    };
  }
  return out;
}
