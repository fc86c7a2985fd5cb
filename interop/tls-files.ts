/**
 * Where the interop programs find the checked-in test certificates (test/fixtures/tls): found
 * by walking up from this module, so it works from the TypeScript sources and from dist/.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The test CA, server certificate and key the interop programs use by default. */
export interface TestTlsFiles {
  ca: string;
  cert: string;
  key: string;
}

/** The name the test server certificate is valid for (any `*.test.example.com` name works). */
export const TEST_SERVER_NAME = 'foo.test.example.com';

/** Paths of the checked-in test certificates; throws when the repository's test/fixtures/tls is not found above this module. */
export function testTlsFiles(): TestTlsFiles {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = path.join(dir, 'test', 'fixtures', 'tls');
    if (existsSync(path.join(candidate, 'ca.pem'))) {
      return { ca: path.join(candidate, 'ca.pem'), cert: path.join(candidate, 'server.pem'), key: path.join(candidate, 'server.key') };
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('The test certificates (test/fixtures/tls) were not found; pass the certificate files explicitly');
    dir = parent;
  }
}
