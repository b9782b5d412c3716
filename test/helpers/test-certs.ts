// Throwaway TLS certificates for tests, made with the openssl command line in
// a temp dir: a CA, a server certificate it signs (SAN localhost and
// 127.0.0.1, one day), the server's PEM as HAProxy wants it (certificate then
// key), and a second, unrelated CA to show that trusting the wrong one fails.
// Nothing is committed; the keys die with the directory.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCerts {
  dir: string;
  /** The CA that signed the server certificate (PEM path). */
  caPath: string;
  /** A CA that signed nothing we serve (PEM path). */
  otherCaPath: string;
  /** Server certificate + key, concatenated (HAProxy's crt). */
  serverPemPath: string;
  remove(): void;
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

function makeCa(dir: string, name: string): void {
  openssl(dir, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', `/CN=${name}`, '-keyout', `${name}.key`, '-out', `${name}.pem`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
}

/** Throws with openssl's words when the binary is missing (scripts/setup.sh installs it). */
export function makeTestCerts(): TestCerts {
  const dir = mkdtempSync(join(tmpdir(), 'wa-test-certs-'));
  try {
    makeCa(dir, 'test-ca');
    makeCa(dir, 'other-ca');
    openssl(dir, ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', '/CN=localhost',
      '-keyout', 'server.key', '-out', 'server.csr']);
    writeFileSync(join(dir, 'server.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
    openssl(dir, ['x509', '-req', '-in', 'server.csr', '-CA', 'test-ca.pem', '-CAkey', 'test-ca.key', '-CAcreateserial',
      '-days', '1', '-extfile', 'server.ext', '-out', 'server.crt']);
    writeFileSync(join(dir, 'server.pem'), readFileSync(join(dir, 'server.crt'), 'utf8') + readFileSync(join(dir, 'server.key'), 'utf8'));
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`openssl could not make test certificates: ${(err as { stderr?: Buffer }).stderr?.toString() ?? (err as Error).message}`);
  }
  return {
    dir,
    caPath: join(dir, 'test-ca.pem'),
    otherCaPath: join(dir, 'other-ca.pem'),
    serverPemPath: join(dir, 'server.pem'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
