// One S3Proxy (filesystem backend) per test file or bench, started through the
// project's script (scripts/s3proxy.sh: fetched from Maven Central on first use)
// in a temp dir, stopped and wiped by stop().
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { S3Settings } from '../../server/common/config-media';
import { REPO_ROOT } from '../../server/common/paths';

const SCRIPT = join(REPO_ROOT, 'scripts', 's3proxy.sh');

export interface RunningS3Proxy {
  settings: S3Settings;
  stop(): void;
}

export function startS3Proxy(bucket = 'wa-media-test'): RunningS3Proxy {
  const dir = mkdtempSync(join(tmpdir(), 'wa-s3proxy-'));
  const out = execFileSync('bash', [SCRIPT, 'start', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 180_000 });
  const [endpoint, accessKeyId, secretAccessKey] = out.trim().split(/\s+/);
  if (!endpoint || !accessKeyId || !secretAccessKey) throw new Error(`s3proxy.sh start printed ${JSON.stringify(out)}`);
  return {
    settings: { endpoint, accessKeyId, secretAccessKey, bucket, region: 'us-east-1' },
    stop() {
      execFileSync('bash', [SCRIPT, 'stop', dir], { stdio: 'inherit', timeout: 30_000 });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
