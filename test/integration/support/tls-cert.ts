import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './harness';

/** A throwaway self-signed certificate (and its key) for 127.0.0.1, localhost, `[::ffff:127.0.0.1]` and `api.tls.test`. */
export interface TestCert {
  readonly key: Buffer;
  readonly cert: Buffer;
}

/**
 * Make a P-256 self-signed certificate valid for one day with `openssl`
 * (no network needed). Throws if `openssl` is missing.
 *
 * @example
 * const { key, cert } = makeTestCert();
 * createServer({ key, cert }, handler);
 */
export function makeTestCert(): TestCert {
  const dir = tempDir('tls');
  try {
    const key = join(dir.path, 'key.pem');
    const cert = join(dir.path, 'cert.pem');
    execFileSync(
      'openssl',
      [
        'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
        '-subj', '/CN=sync-engine-test', '-days', '1', '-keyout', key, '-out', cert,
        '-addext', 'subjectAltName=IP:127.0.0.1,IP:::ffff:127.0.0.1,DNS:localhost,DNS:api.tls.test',
      ],
      { stdio: 'ignore', timeout: 20_000 },
    );
    return { key: readFileSync(key), cert: readFileSync(cert) };
  } finally {
    dir.cleanup();
  }
}
