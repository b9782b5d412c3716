// `idle`: an iteration does nothing. A phase of `idle` iterations holds the
// connections that are open without traffic, so what the generator and the
// system spend on them idle can be measured over that phase (connect-ramp's
// hold). Run it at a low rate (1/s): each iteration is a no-op, not a wait.
import type { Vu, Workload } from '../executors/executor';

export class IdleWorkload implements Workload {
  iterate(vu: Vu): void {
    vu.executor.iterationDone(vu, vu.gen, true);
  }
}
