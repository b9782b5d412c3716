// per-vu-iterations (k6): each of `vus` VUs runs exactly `iterations`
// iterations, within maxDuration (after which what is left is interrupted).
import { stripedShare } from '../model/segments';
import type { Vu } from './executor';
import { ClosedModelExecutor } from './closed';

export class PerVuIterations extends ClosedModelExecutor {
  private unfinished = 0;

  protected onStart(): void {
    this.unfinished = stripedShare(this.cfg.vus, this.host.segment);
    for (let i = 0; i < this.unfinished; i++) this.ready.push(this.newVu());
    if (this.unfinished === 0) this.finish();
  }

  protected keepGoing(vu: Vu): boolean {
    if (vu.iterations < this.cfg.iterations) return true;
    if (--this.unfinished === 0) this.finish();
    return false;
  }
}
