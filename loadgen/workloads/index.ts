// The workload registry: `exec` names -> what an iteration does. A new
// workload is one file here plus one line below; executors, metrics and
// outputs need no change.
import type { ResolvedExecutor } from '../model/plan';
import type { Workload } from '../executors/executor';
import type { World } from '../world/world';
import { ChatWorkload } from './chat';
import { DisconnectWorkload } from './disconnect';
import { GroupWorkload } from './group';
import { IdleWorkload } from './idle';
import { ReconnectWorkload } from './reconnect';

export function createWorkload(world: World, cfg: ResolvedExecutor): Workload {
  switch (cfg.exec) {
    case 'chat': return new ChatWorkload(world, cfg);
    case 'group': return new GroupWorkload(world, cfg);
    case 'disconnect': return new DisconnectWorkload(world);
    case 'reconnect': return new ReconnectWorkload(world);
    case 'idle': return new IdleWorkload();
  }
}
