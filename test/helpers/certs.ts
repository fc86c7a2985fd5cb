/**
 * Test certificates made at test time with the `openssl` command line: a CA, a server
 * certificate for localhost and 127.0.0.1 (subjectAltName), a client certificate signed by the
 * CA and a "rogue" client certificate signed by another CA. EC P-256 keys, valid for a day.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** PEM contents of every test certificate and key. */
export interface TestCertificates {
  ca: Buffer;
  serverCert: Buffer;
  serverKey: Buffer;
  clientCert: Buffer;
  clientKey: Buffer;
  rogueCert: Buffer;
  rogueKey: Buffer;
}

function openssl(cwd: string, args: string[]): void {
  try {
    execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (error) {
    const detail = (error as { stderr?: Buffer; code?: string }).code === 'ENOENT' ? 'openssl is not installed' : String((error as { stderr?: Buffer }).stderr ?? error);
    throw new Error(`openssl ${args.join(' ')} failed: ${detail}`);
  }
}

function selfSignedCa(dir: string, name: string, subject: string): void {
  openssl(dir, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '1', '-subj', subject]);
}

function signed(dir: string, name: string, subject: string, ca: string, extensions: string): void {
  openssl(dir, ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject]);
  writeFileSync(path.join(dir, `${name}.ext`), extensions);
  openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${name}.crt`, '-days', '1', '-extfile', `${name}.ext`]);
}

/** Makes the certificates in a temporary folder, reads them and removes the folder. Throws, naming the command, if openssl fails. */
export function makeTestCertificates(): TestCertificates {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'grpc-certs-'));
  try {
    selfSignedCa(dir, 'ca', '/CN=nestjs-grpc-transport test CA');
    selfSignedCa(dir, 'rogue-ca', '/CN=rogue CA');
    signed(dir, 'server', '/CN=localhost', 'ca', 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
    signed(dir, 'client', '/CN=test-client/O=grpc tests', 'ca', 'extendedKeyUsage=clientAuth\n');
    signed(dir, 'rogue', '/CN=test-client/O=grpc tests', 'rogue-ca', 'extendedKeyUsage=clientAuth\n');
    const read = (file: string) => readFileSync(path.join(dir, file));
    return {
      ca: read('ca.crt'),
      serverCert: read('server.crt'),
      serverKey: read('server.key'),
      clientCert: read('client.crt'),
      clientKey: read('client.key'),
      rogueCert: read('rogue.crt'),
      rogueKey: read('rogue.key'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
