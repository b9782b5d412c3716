// constant-vus (k6): `vus` VUs loop iterations for `duration`.
import { stripedShare } from '../model/segments';
import type { Vu } from './executor';
import { ClosedModelExecutor } from './closed';

export class ConstantVus extends ClosedModelExecutor {
  protected onStart(): void {
    const n = stripedShare(this.cfg.vus, this.host.segment);
    for (let i = 0; i < n; i++) this.ready.push(this.newVu());
  }

  protected keepGoing(_vu: Vu): boolean {
    return true;
  }
}
