// CPU time of another process in nanoseconds (Linux /proc/<pid>/task/*/schedstat,
// summed over its threads). /proc/<pid>/stat counts in 10 ms clock ticks: over a
// few seconds at a few thousand messages/s that is a 2-20% quantisation error,
// larger than the regressions the gate must see.
import { readdirSync, readFileSync } from 'node:fs';

/** Nanoseconds on a CPU so far, summed over the live threads of `pid`; null if the process is gone. */
export function processCpuNs(pid: number): number | null {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return null;
  }
  let ns = 0;
  for (const tid of tids) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return ns;
}
