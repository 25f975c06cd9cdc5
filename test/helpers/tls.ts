import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface Certificate {
  /** Paths of the PEM files. */
  certPath: string
  keyPath: string
  /** Their contents; `cert` is also the CA a client trusts. */
  cert: Buffer
  key: Buffer
}

/**
 * A self-signed certificate for 127.0.0.1 made by openssl in `dir` (a new temporary folder when
 * none is given, removed by `remove`). Throws with openssl's message when it fails.
 */
export function selfSignedCertificate(dir?: string): Certificate & { remove(): void } {
  const folder = dir ?? mkdtempSync(join(tmpdir(), 'roomcast-tls-'))
  const [certPath, keyPath] = [join(folder, 'cert.pem'), join(folder, 'key.pem')]
  const args = ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyPath, '-out', certPath, '-days', '1']
  const made = spawnSync('openssl', [...args, '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { encoding: 'utf8' })
  if (made.status !== 0) throw new Error(`openssl could not make a certificate: ${made.stderr}`)
  return {
    certPath,
    keyPath,
    cert: readFileSync(certPath),
    key: readFileSync(keyPath),
    remove: () => {
      if (dir === undefined) rmSync(folder, { recursive: true, force: true })
    },
  }
}
