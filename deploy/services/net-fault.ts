// Network faults for the project's own loopback test hosts: drop every TCP
// packet to one loopback address and port (nftables, Debian's `nftables`;
// scripts/setup.sh installs it), then heal. This kernel has no netem (no
// delay or loss), but a drop is what "a node cut off from etcd" needs: give
// that node its own address for the service (etcd also listens on 127.0.0.2)
// and drop only that address. Each fault is its own nftables table, deleted
// on heal; only 127.0.0.0/8 destinations are accepted.
import { execFileSync } from 'node:child_process';

export class TcpDrop {
  private healed = false;

  private constructor(readonly table: string) {}

  /** Drop TCP packets to addr:port (loopback only) until heal(). */
  static start(addr: string, port: number): TcpDrop {
    if (!/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(addr)) throw new Error(`net fault: ${addr} is not a loopback address`);
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`net fault: bad port ${port}`);
    const table = `wa_fault_${addr.replace(/\./g, '_')}_${port}`;
    nft(['add', 'table', 'ip', table]);
    nft(['add', 'chain', 'ip', table, 'out', '{ type filter hook output priority 0 ; }']);
    nft(['add', 'rule', 'ip', table, 'out', 'ip', 'daddr', addr, 'tcp', 'dport', String(port), 'drop']);
    // Replies from the service too: an established connection stalls instead of getting late answers.
    nft(['add', 'rule', 'ip', table, 'out', 'ip', 'saddr', addr, 'tcp', 'sport', String(port), 'drop']);
    return new TcpDrop(table);
  }

  heal(): void {
    if (this.healed) return;
    this.healed = true;
    nft(['delete', 'table', 'ip', this.table]);
  }
}

function nft(args: string[]): void {
  try {
    execFileSync('nft', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    const e = err as { stderr?: Buffer; message: string };
    throw new Error(`nft ${args.join(' ')}: ${e.stderr?.toString().trim() || e.message} (needs nftables: bash scripts/setup.sh, and root)`);
  }
}
