/**
 * An https:// gateway (the AWS example's https://gateway.game.internal) is spoken to over TLS,
 * verified against the environment's CA: the gateway probes (request-slo, drain) through
 * gatewayHttp. A certificate from another CA, or plain http:// to a TLS port, fails every
 * request — the broken variants.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { gatewayHttp, type Environment } from '../../src/api/environment.ts'
import { requestSlo } from '../../plugins/probes/request-slo.ts'
import { drain } from '../../plugins/probes/drain.ts'
import { probeContext } from '../lifecycle/support.ts'

let dir: string
let server: Server
let port: number
let ca: string
let otherCa: string
const seen: string[] = []

/** A CA, and a server certificate for 127.0.0.1 it signs (openssl, into `dir`). */
function makeCa(name: string): { ca: string; cert: string; key: string } {
  const f = (x: string) => join(dir, `${name}-${x}`)
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' })
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', `/CN=${name} test CA`, '-keyout', f('ca.key'), '-out', f('ca.pem'))
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', f('server.key'), '-out', f('server.csr'))
  writeFileSync(f('san.ext'), 'subjectAltName=IP:127.0.0.1\n')
  openssl(
    'x509',
    '-req',
    '-in',
    f('server.csr'),
    '-CA',
    f('ca.pem'),
    '-CAkey',
    f('ca.key'),
    '-CAcreateserial',
    '-days',
    '1',
    '-extfile',
    f('san.ext'),
    '-out',
    f('server.pem'),
  )
  return { ca: f('ca.pem'), cert: f('server.pem'), key: f('server.key') }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gameday-gateway-tls-'))
  const own = makeCa('game')
  ca = own.ca
  otherCa = makeCa('other').ca
  server = createServer({ cert: readFileSync(own.cert), key: readFileSync(own.key) }, (req, res) => {
    seen.push(`${req.method} ${req.url}`)
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  port = (server.address() as { port: number }).port
}, 60_000)
afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve))
  rmSync(dir, { recursive: true, force: true })
})

const envWith = (url: string, caFile?: string) => ({ kind: 'aws', endpoints: { gateway: () => url, gatewayCaFile: () => caFile } }) as unknown as Environment

describe('gatewayHttp', () => {
  it('speaks TLS to an https:// gateway, verified against the CA the environment names; the default port is 443, not 80', async () => {
    const gw = gatewayHttp(envWith(`https://127.0.0.1:${port}`, ca))
    const status = await new Promise<number>((resolve, reject) =>
      gw
        .request({ path: '/v1/x' }, (res) => resolve(res.statusCode!))
        .on('error', reject)
        .end(),
    )
    expect(status).toBe(200)
    gw.close()
    const bare = gatewayHttp(envWith('https://gateway.game.internal'))
    const req = bare.request({ path: '/' })
    req.on('error', () => {}) // never sent anywhere: destroyed at once
    expect([(req as unknown as { protocol: string }).protocol, req.host]).toEqual(['https:', 'gateway.game.internal'])
    expect((req as unknown as { agent: { defaultPort: number } }).agent.defaultPort).toBe(443)
    req.destroy()
    bare.close()
  })

  it('refuses a certificate from another CA', async () => {
    const gw = gatewayHttp(envWith(`https://127.0.0.1:${port}`, otherCa))
    const err = await new Promise<Error>((resolve) =>
      gw
        .request({ path: '/' }, () => resolve(new Error('answered')))
        .on('error', resolve)
        .end(),
    )
    expect(String((err as NodeJS.ErrnoException).code ?? err.message)).toMatch(/SELF_SIGNED|UNABLE_TO_VERIFY|CERT/)
    gw.close()
  })
})

describe('the gateway probes over https', () => {
  const slo = (url: string, caFile?: string) => {
    const ctx = probeContext({ gateway: () => url, gatewayCaFile: () => caFile }, dir)
    return requestSlo.create(ctx, requestSlo.params.parse({ rate: 40, duration: '500ms', warmup: 0, timeout: '1s' }))
  }

  it('request-slo: every request answered over TLS with the environment CA', async () => {
    const probe = await slo(`https://127.0.0.1:${port}`, ca)
    const result = await probe.run!()
    await probe.close?.()
    expect(result.metrics.successRate).toBe(1)
    expect(result.metrics.requests).toBeGreaterThan(5)
  })

  it('request-slo fails every request on a broken variant: another CA, or plaintext to the TLS port', async () => {
    for (const [url, caFile] of [
      [`https://127.0.0.1:${port}`, otherCa],
      [`http://127.0.0.1:${port}`, undefined],
    ] as const) {
      const probe = await slo(url, caFile)
      const result = await probe.run!()
      await probe.close?.()
      expect(result.metrics.successRate, url).toBe(0)
    }
  })

  it('drain: nothing lost or failed over TLS', async () => {
    const ctx = probeContext({ gateway: () => `https://127.0.0.1:${port}`, gatewayCaFile: () => ca }, dir)
    const probe = await drain.create(ctx, drain.params.parse({ via: 'gateway', rate: 40, timeout: '1s' }))
    await probe.start!()
    await new Promise((r) => setTimeout(r, 500))
    const result = await probe.stop!()
    await probe.close?.()
    expect(result.metrics.ok).toBeGreaterThan(5)
    expect([result.metrics.lost, result.metrics.failed]).toEqual([0, 0])
  })
})
