// CPU time of another process on this machine (Linux /proc), to report CPU per
// message for each process of the system under test.
import { readFileSync } from 'node:fs';
import type { RunningSystem } from '../server/launcher';

const CLK_TCK = 100; // sysconf(_SC_CLK_TCK) on Linux x86_64

/** User + system CPU seconds consumed so far by `pid`; null if it is gone. */
export function processCpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return (utime + stime) / CLK_TCK;
  } catch {
    return null;
  }
}

/** Resident set size in bytes. */
export function processRssBytes(pid: number): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /VmRSS:\s+(\d+) kB/.exec(status);
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** The processes of a running system by name ("chat", "gateway-0", ...), with their pids. */
function systemPids(system: RunningSystem): [string, number][] {
  const out: [string, number][] = [];
  if (system.chat?.child.pid) out.push(['chat', system.chat.child.pid]);
  system.gateways.forEach((g, i) => {
    if (g.child.pid) out.push([`gateway-${i}`, g.child.pid]);
  });
  return out;
}

/** CPU seconds used so far by each process of the system. */
export function systemCpuSeconds(system: RunningSystem): Record<string, number> {
  return Object.fromEntries(systemPids(system).map(([name, pid]) => [name, processCpuSeconds(pid) ?? 0]));
}

/** Resident set size of each process of the system. */
export function systemRssBytes(system: RunningSystem): Record<string, number | null> {
  return Object.fromEntries(systemPids(system).map(([name, pid]) => [name, processRssBytes(pid)]));
}
