import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect, createServer, type TLSSocket } from 'node:tls'
import { afterAll, describe, expect, it } from 'vitest'
import { loadEnvironmentPki, makeEnvironmentPki } from './environment-pki.ts'
import { CertificateAuthority, fingerprint, issueExpiredServer, issueUntrustedServer, type CertificatePem } from './pki.ts'

/** A real TLS handshake on loopback: the server presents `server`, asks for a client certificate; what does each side conclude? */
async function handshake(server: CertificatePem, ca: string, opts: { servername?: string; host?: string; client?: CertificatePem } = {}) {
  const srv = createServer({ cert: server.cert, key: server.key, ca, requestCert: true, rejectUnauthorized: false }, (s) => {
    s.end(s.authorized ? 'client ok' : `client refused: ${s.authorizationError}`)
  })
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))
  const port = (srv.address() as { port: number }).port
  try {
    return await new Promise<{ error?: string; reply?: string; peer?: string }>((resolve) => {
      const sock: TLSSocket = connect({ host: opts.host ?? '127.0.0.1', port, ca, servername: opts.servername, cert: opts.client?.cert, key: opts.client?.key })
      let reply = ''
      sock.on('data', (d) => (reply += d))
      sock.on('end', () => resolve({ reply, peer: sock.getPeerX509Certificate()?.fingerprint256.replaceAll(':', '').toLowerCase() }))
      sock.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }))
    })
  } finally {
    srv.close()
  }
}

describe('private CA', () => {
  const dirs: string[] = []
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })))

  it('issues server certificates a client verifies by IP and by name, and client certificates a server verifies', async () => {
    const ca = await CertificateAuthority.create('test CA')
    const server = await ca.issueServer('n1', { names: ['127.0.0.1', 'localhost', 'gameday-n1'] })
    const client = await ca.issueClient('gateway')
    expect(await handshake(server, ca.certPem, { client })).toMatchObject({ reply: 'client ok', peer: server.fingerprint })
    expect(await handshake(server, ca.certPem, { servername: 'gameday-n1', client })).toMatchObject({ reply: 'client ok' })
    expect(await handshake(server, ca.certPem, { servername: 'localhost' })).toMatchObject({ reply: expect.stringMatching(/^client refused/) })
    expect(server.fingerprint).toBe(await fingerprint(server.cert))
  })

  it('a name not among the SANs, an expired certificate and one from another CA are refused', async () => {
    const ca = await CertificateAuthority.create('test CA')
    const good = await ca.issueServer('n1', { names: ['127.0.0.1'] })
    expect(await handshake(good, ca.certPem, { servername: 'other-host' })).toEqual({ error: 'ERR_TLS_CERT_ALTNAME_INVALID' })
    expect(await handshake(await issueExpiredServer(ca, 'n1', ['127.0.0.1']), ca.certPem)).toEqual({ error: 'CERT_HAS_EXPIRED' })
    expect(await handshake(await issueUntrustedServer('n1', ['127.0.0.1']), ca.certPem)).toEqual({ error: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' })
    // a client certificate from another CA is refused by the server
    const stranger = await (await CertificateAuthority.create('other CA')).issueClient('gateway')
    expect((await handshake(good, ca.certPem, { client: stranger })).reply).toMatch(/^client refused/)
  })

  it('makes an environment PKI on disk (keys private) and loads its CA back to issue more', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gameday-pki-'))
    dirs.push(dir)
    const pki = await makeEnvironmentPki(dir, { servers: [{ name: 'n1', names: ['gameday-n1'] }], clients: ['gateway', 'gameday'] })
    expect(pki.servers.n1.names).toEqual(['gameday-n1', '127.0.0.1', 'localhost'])
    expect(statSync(pki.servers.n1.keyFile).mode & 0o777).toBe(0o600)
    const { ca } = await loadEnvironmentPki(dir)
    const caPem = readFileSync(pki.caFile, 'utf8')
    const later = await ca.issueServer('n1', { names: ['127.0.0.1'] })
    const client = { cert: readFileSync(pki.clients.gateway.certFile, 'utf8'), key: readFileSync(pki.clients.gateway.keyFile, 'utf8'), fingerprint: '' }
    expect(await handshake(later, caPem, { client })).toMatchObject({ reply: 'client ok' })
  })
})
