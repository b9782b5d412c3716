// CPU time of the calling thread (Linux /proc/thread-self), so each worker
// thread can say how busy it is: a thread near 100% of a core is a generator
// that cannot keep its schedule, whatever the process total says.
import { readFileSync } from 'node:fs';

const CLK_TCK = 100;

/** User + system CPU seconds of the calling thread; null where /proc/thread-self is missing. */
export function threadCpuSeconds(): number | null {
  try {
    const stat = readFileSync('/proc/thread-self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  } catch {
    return null;
  }
}
