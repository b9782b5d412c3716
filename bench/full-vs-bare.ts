// The issue-2 figure: 1:1 messages/s through the whole path (gateway -> gRPC
// -> chat service -> store -> gRPC -> gateway -> recipient) at p99 < 100 ms,
// against the same load on the bare uWS forwarder (bench/fixtures/bare-forwarder.ts),
// measured side by side in one run, as a ratio.
//
// Both targets get the same users, the same open-model stages (rate steps of
// `--step-seconds` each, increasing until p99 >= 100 ms or a message is lost),
// the same lean client and the same payload. CPU per message is read from
// /proc for every process of the target and from process.cpuUsage for the
// load generator.
//
//   node dist/bench/full-vs-bare.js [--users 200] [--step-seconds 4] [--rates 2000,4000,...] [--json out.json]
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DIST_DIR } from '../server/common/paths';
import { startSystem } from '../deploy/local-system';
import { BareDriver } from '../loadgen/drivers/bare-driver';
import { SystemDriver } from '../loadgen/drivers/system-driver';
import { measureRamp, P99_MAX_MS, RAMP_DEFAULTS, rampReport } from './ramp-report';

function spawnForwarder(): Promise<{ url: string; pid: number; stop: () => void }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(DIST_DIR, 'bench/fixtures/bare-forwarder.js'), '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /listening (\d+)/.exec(out);
      if (m) resolve({ url: `ws://127.0.0.1:${m[1]}`, pid: child.pid!, stop: () => child.kill('SIGTERM') });
    });
    child.on('exit', (code) => reject(new Error(`forwarder exited ${code}`)));
  });
}


async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      users: { type: 'string', default: String(RAMP_DEFAULTS.users) },
      'step-seconds': { type: 'string', default: String(RAMP_DEFAULTS.step_s) },
      rates: { type: 'string', default: RAMP_DEFAULTS.rates.join(',') },
      json: { type: 'string' },
    },
  });
  const users = Number(values.users);
  const stepS = Number(values['step-seconds']);
  const rates = values.rates!.split(',').map(Number);
  if (!Number.isInteger(users) || users < 2 || users % 2 || !rates.every((r) => r > 0)) throw new Error('bad --users/--rates');
  console.log(`full path vs bare forwarder: ${users} users in pairs, steps of ${stepS}s at ${rates.join(', ')} msg/s; ${cpus().length} cores`);

  const fwd = await spawnForwarder();
  const bare = await measureRamp('bare', new BareDriver(fwd.url), { forwarder: fwd.pid }, users, rates, stepS);
  fwd.stop();

  const sys = await startSystem({});
  const full = await measureRamp(
    'full',
    new SystemDriver({ url: sys.gatewayUrl, secret: sys.secret, transport: 'lean' }),
    { gateway: sys.gateways[0]!.child.pid!, chat: sys.chat.child.pid! },
    users, rates, stepS,
  );
  await sys.stop();

  console.log('');
  for (const line of [...rampReport(bare), ...rampReport(full)]) console.log(line);
  const ratio = bare.sustainedRate ? full.sustainedRate / bare.sustainedRate : 0;
  console.log(`\nratio full/bare at p99 < ${P99_MAX_MS} ms: ${ratio.toFixed(3)}`);
  if (values.json) writeFileSync(values.json, JSON.stringify({ users, stepS, rates, bare, full, ratio }, null, 2));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
