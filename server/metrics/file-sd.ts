// Prometheus file service discovery for processes on ephemeral ports: with
// WA_PROM_SD_DIR set (scripts/prometheus.sh prints it), a process writes
// <dir>/<job>/<pid>-<port>.json naming its /metrics address, and removes it
// when it stops, so a running Prometheus scrapes it without a config change.
// The job directories are the scrape jobs of prometheus/prometheus.yml.
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { metricsSettings } from '../common/config';

export type PromJob = 'wa-gateway' | 'wa-chat' | 'wa-loadgen';

export interface FileSdTarget {
  /** The file written (null: WA_PROM_SD_DIR not set, nothing written). */
  file: string | null;
  /** Remove the file (idempotent; also done at process exit). */
  remove(): void;
}

/** Register `127.0.0.1:<port>` under `job`; labels are added to every series scraped from it. */
export function registerFileSdTarget(job: PromJob, port: number, labels: Record<string, string> = {},
  dir: string = metricsSettings().prom_sd_dir): FileSdTarget {
  if (!dir) return { file: null, remove: () => {} };
  mkdirSync(join(dir, job), { recursive: true });
  const file = join(dir, job, `${process.pid}-${port}.json`);
  // Prometheus may read the file at any moment: write it whole, then rename.
  writeFileSync(`${file}.tmp`, JSON.stringify([{ targets: [`127.0.0.1:${port}`], labels }]));
  renameSync(`${file}.tmp`, file);
  let removed = false;
  const remove = () => {
    if (removed) return;
    removed = true;
    process.off('exit', remove);
    rmSync(file, { force: true });
  };
  // A run ended by an error or process.exit still takes its target away.
  process.on('exit', remove);
  return { file, remove };
}
