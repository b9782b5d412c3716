// Checks bench/fixtures/bare-forwarder in both delivery modes: relays are
// byte-identical, fan-out reaches every group member but the sender, unknown
// destinations are dropped and counted, bad ids are refused.
// Runs the compiled forwarder from dist/ as a child process on an ephemeral port.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';

const FORWARDER = join(__dirname, '..', 'bench', 'fixtures', 'bare-forwarder.js');
const TIMEOUT_MS = 5000;

interface Forwarder {
  proc: ChildProcess;
  port: number;
  stdout: string[];
}

async function startForwarder(extra: string[]): Promise<Forwarder> {
  const proc = spawn(process.execPath, [FORWARDER, '--port', '0', ...extra], { stdio: ['ignore', 'pipe', 'inherit'] });
  const stdout: string[] = [];
  let buf = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('forwarder did not print "listening <port>"')), TIMEOUT_MS);
    proc.once('exit', (code) => reject(new Error(`forwarder exited early with ${code}`)));
    proc.stdout!.setEncoding('utf8');
    proc.stdout!.on('data', (chunk: string) => {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        stdout.push(line);
        const m = /^listening (\d+)$/.exec(line);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      }
    });
  });
  return { proc, port, stdout };
}

async function stopForwarder(f: Forwarder): Promise<Record<string, unknown>> {
  const exited = once(f.proc, 'exit');
  f.proc.kill('SIGTERM');
  const [code] = await exited;
  assert.equal(code, 0, 'forwarder exits 0 on SIGTERM');
  const line = f.stdout.find((l) => l.startsWith('counters '));
  assert.ok(line, 'forwarder prints counters on SIGTERM');
  return JSON.parse(line.slice('counters '.length)) as Record<string, unknown>;
}

class Client {
  readonly inbox: Buffer[] = [];
  private waiters: Array<(b: Buffer) => void> = [];
  private constructor(readonly id: number, readonly ws: WebSocket) {
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      assert.ok(isBinary, 'relayed frames are binary');
      const w = this.waiters.shift();
      if (w) w(data);
      else this.inbox.push(data);
    });
  }

  static async connect(port: number, id: number): Promise<Client> {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/?id=${id}`);
    await once(ws, 'open');
    return new Client(id, ws);
  }

  send(dest: number, payload: Buffer): Buffer {
    const msg = Buffer.allocUnsafe(8 + payload.length);
    msg.writeDoubleLE(dest, 0);
    payload.copy(msg, 8);
    this.ws.send(msg, { binary: true });
    return msg;
  }

  next(): Promise<Buffer> {
    const b = this.inbox.shift();
    if (b) return Promise.resolve(b);
    return new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`client ${this.id}: no message within ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
      this.waiters.push((m) => {
        clearTimeout(timer);
        resolve(m);
      });
    });
  }

  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    const closed = once(this.ws, 'close');
    this.ws.close();
    await closed;
  }
}

// A sentinel the sender addresses to itself: messages from one socket are
// handled in order, so once the sentinel is back, anything sent before it has
// been routed (or dropped).
async function sentinel(c: Client): Promise<void> {
  const tag = randomBytes(8);
  const sent = c.send(c.id, tag);
  const got = await c.next();
  assert.deepEqual(got, sent, `client ${c.id}: expected only its sentinel`);
}

for (const mode of [[], ['--naive']]) {
  const label = mode.length ? 'naive' : 'corked-queue';

  describe(`bare-forwarder unicast (${label})`, () => {
    let f: Forwarder;
    let a: Client, b: Client, c: Client;
    before(async () => {
      f = await startForwarder(mode);
      [a, b, c] = await Promise.all([1, 2, 3].map((id) => Client.connect(f.port, id)));
    });
    after(async () => {
      await Promise.all([a, b, c].map((x) => x?.close()));
      if (f) f.proc.kill('SIGKILL');
    });

    it('relays the whole message byte-for-byte, in order', async () => {
      const sent: Buffer[] = [];
      for (let i = 0; i < 50; i++) sent.push(a.send(2, randomBytes(1 + ((i * 37) % 300))));
      sent.push(a.send(2, Buffer.alloc(0))); // header-only message
      for (const s of sent) assert.deepEqual(await b.next(), s);
      const big = a.send(3, randomBytes(200_000));
      assert.deepEqual(await c.next(), big);
      await sentinel(a);
      assert.equal(b.inbox.length + c.inbox.length, 0);
    });

    it('drops and counts unknown destinations and malformed frames', async () => {
      a.send(999, Buffer.from('nobody'));
      a.send(-1, Buffer.from('no fan-out in this mode'));
      a.ws.send(Buffer.from([1, 2, 3]), { binary: true }); // shorter than the header
      a.ws.send('text frame');
      await sentinel(a);
      assert.equal(b.inbox.length + c.inbox.length, 0);
      const stats = await (await fetch(`http://127.0.0.1:${f.port}/stats`)).json() as Record<string, number>;
      assert.equal(stats.droppedUnknownDest, 2);
      assert.equal(stats.droppedMalformed, 2);
    });

    it('refuses a connection without a positive integer id', async () => {
      for (const q of ['', '?id=0', '?id=-3', '?id=abc', '?id=1.5']) {
        const ws = new WebSocket(`ws://127.0.0.1:${f.port}/${q}`);
        const [err] = await once(ws, 'error');
        assert.match(String((err as Error).message), /400/);
      }
    });
  });

  describe(`bare-forwarder fan-out (${label})`, () => {
    const K = 4;
    let f: Forwarder;
    let clients: Client[];
    before(async () => {
      f = await startForwarder([...mode, '--fanout-group-size', String(K)]);
      // group 0 = ids 1..4, group 1 = ids 5..8 (only 5 and 6 connected)
      clients = await Promise.all([1, 2, 3, 4, 5, 6].map((id) => Client.connect(f.port, id)));
    });
    after(async () => {
      await Promise.all((clients ?? []).map((x) => x.close()));
      if (f) f.proc.kill('SIGKILL');
    });

    it('delivers to every member of the group except the sender, and to nobody else', async () => {
      const [c1, c2, c3, c4, c5, c6] = clients;
      const msg = c1.send(-1, randomBytes(64)); // group 0
      for (const m of [c2, c3, c4]) assert.deepEqual(await m.next(), msg);
      // an outsider sending to group 1 reaches all its connected members
      const msg2 = c2.send(-2, randomBytes(10));
      for (const m of [c5, c6]) assert.deepEqual(await m.next(), msg2);
      // unicast still works in fan-out mode
      const uni = c6.send(3, randomBytes(5));
      assert.deepEqual(await c3.next(), uni);
      for (const c of clients) await sentinel(c);
      for (const c of clients) assert.equal(c.inbox.length, 0, `client ${c.id} got nothing extra`);
    });

    it('drops a fan-out to an empty group, and to a group whose only member is the sender', async () => {
      const [c1, , , , c5, c6] = clients;
      c1.send(-3, Buffer.from('group 2 has nobody'));
      await c6.close();
      c5.send(-2, Buffer.from('only the sender left'));
      await sentinel(c1);
      await sentinel(c5);
      const counters = await stopForwarder(f);
      assert.equal(counters.droppedEmptyGroup, 2);
      assert.equal(counters.fanoutMessages, 4);
      assert.equal(counters.deliveries, 3 + 2 + 1 + 6 + 2);
      clients = clients.filter((c) => c !== c6);
    });
  });
}
