// The executor registry: k6's names -> one class each.
import type { ResolvedExecutor } from '../model/plan';
import type { Executor, ExecutorHost } from './executor';
import { ConstantArrivalRate } from './constant-arrival-rate';
import { RampingArrivalRate } from './ramping-arrival-rate';
import { ConstantVus } from './constant-vus';
import { RampingVus } from './ramping-vus';
import { PerVuIterations } from './per-vu-iterations';

export function createExecutor(cfg: ResolvedExecutor, host: ExecutorHost): Executor {
  switch (cfg.executor) {
    case 'constant-arrival-rate': return new ConstantArrivalRate(cfg, host);
    case 'ramping-arrival-rate': return new RampingArrivalRate(cfg, host);
    case 'constant-vus': return new ConstantVus(cfg, host);
    case 'ramping-vus': return new RampingVus(cfg, host);
    case 'per-vu-iterations': return new PerVuIterations(cfg, host);
  }
}
