// CPU time, memory and I/O calls of processes and threads on this machine
// (Linux /proc), so every figure can be given per message for each process of a run.
import { readdirSync, readFileSync } from 'node:fs';

const CLK_TCK = 100; // sysconf(_SC_CLK_TCK) on Linux x86_64

/** utime + stime of a /proc stat line, in seconds (fields after the command name, which may hold spaces). */
function statCpuSeconds(stat: string): number {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

/** User + system CPU seconds consumed so far by `pid` (10 ms ticks); null if it is gone. */
export function processCpuSeconds(pid: number): number | null {
  try {
    return statCpuSeconds(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return null;
  }
}

/** User + system CPU seconds of the calling thread; null where /proc/thread-self is missing. */
export function threadCpuSeconds(): number | null {
  try {
    return statCpuSeconds(readFileSync('/proc/thread-self/stat', 'utf8'));
  } catch {
    return null;
  }
}

/**
 * Nanoseconds on a CPU so far, summed over the live threads of `pid`
 * (/proc/<pid>/task/<tid>/schedstat); null if the process is gone. /proc/<pid>/stat
 * counts 10 ms ticks: over a few seconds that is a 2-20% quantisation error,
 * larger than the regressions the perf gate must see.
 */
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

/** Resident set size in bytes; null if the process is gone. */
export function processRssBytes(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** A process's I/O system calls and bytes so far (/proc/<pid>/io): every read/write-family call, sockets and files alike. */
export interface ProcessIo {
  /** read-family calls (read, recv, pread, ...). */
  syscr: number;
  /** write-family calls (write, send, pwrite, ...). */
  syscw: number;
  /** Bytes those calls wrote (sockets and page cache alike). */
  wchar: number;
}

/** null if the process is gone or its io file cannot be read (another user's process). */
export function processIo(pid: number): ProcessIo | null {
  try {
    const text = readFileSync(`/proc/${pid}/io`, 'utf8');
    const field = (name: string) => Number(new RegExp(`^${name}: (\\d+)$`, 'm').exec(text)?.[1] ?? NaN);
    const io = { syscr: field('syscr'), syscw: field('syscw'), wchar: field('wchar') };
    return Number.isFinite(io.syscr + io.syscw + io.wchar) ? io : null;
  } catch {
    return null;
  }
}

/** after - before, field by field; null when either is missing. */
export function ioSince(before: ProcessIo | null, after: ProcessIo | null): ProcessIo | null {
  if (!before || !after) return null;
  return { syscr: after.syscr - before.syscr, syscw: after.syscw - before.syscw, wchar: after.wchar - before.wchar };
}
