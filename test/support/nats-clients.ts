/** NATS clients that try their luck: what a server tells a client that skips TLS, or one that connects with given options. */
import { connect as tcpConnect } from 'node:net'
import { connect } from '@nats-io/transport-node'
import { expect } from 'vitest'
import type { Environment } from '../../src/api/environment.ts'

/** What a client that skips TLS gets from the server at `port`: the first line after its CONNECT, or `closed: …` if the server ended it. */
export function plaintextConnect(port: number, host = '127.0.0.1'): Promise<string> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ host, port })
    let seen = ''
    socket.setTimeout(3_000, () => {
      socket.destroy()
      resolve(`timeout: ${seen}`)
    })
    socket.on('data', (d) => {
      seen += d
      if (seen.startsWith('INFO') && !seen.includes('CONNECT-SENT')) {
        socket.write('CONNECT {"verbose":false,"pedantic":false}\r\nPING\r\n')
        seen = 'CONNECT-SENT'
      } else if (/PONG|-ERR/.test(seen)) {
        socket.destroy()
        resolve(seen.replace('CONNECT-SENT', '').trim())
      }
    })
    socket.on('error', (err) => resolve(`error: ${err.message}`))
    socket.on('close', () => resolve(`closed: ${seen.replace('CONNECT-SENT', '')}`.trim()))
  })
}

/** `connected`, or `refused: <why>` — one attempt, no reconnects. */
export async function connectOutcome(server: string, opts: Record<string, unknown>): Promise<string> {
  try {
    const nc = await connect({ ...opts, servers: server, maxReconnectAttempts: 0, timeout: 2_000 })
    await nc.flush()
    await nc.close()
    return 'connected'
  } catch (err) {
    return `refused: ${(err as Error).message}`
  }
}

/**
 * On an environment whose cluster `core` runs TLS with accounts: every node refuses a plaintext
 * client and a TLS client without a certificate, and lets in Gameday's own identity (the control:
 * the refusals are the server's, not a dead port).
 */
export async function expectEveryNodeRefusesStrangers(env: Pick<Environment, 'endpoints'>): Promise<void> {
  const urls = env.endpoints.natsServers('core')
  const identity = env.endpoints.natsOptions?.('core') ?? {}
  expect(urls).toHaveLength(5)
  const caFile = (identity.tls as { caFile?: string } | undefined)?.caFile
  expect(caFile, 'the secure environment hands its CA to clients').toBeTruthy()
  for (const url of urls) {
    const { hostname, port } = new URL(url)
    // the server requires TLS: a CONNECT in clear text ends the connection, nothing answers PONG
    expect(await plaintextConnect(Number(port), hostname), url).not.toMatch(/PONG/)
    // TLS to the right CA but no client certificate: the handshake or the authorization fails
    expect(await connectOutcome(url, { tls: { caFile } }), url).toMatch(/^refused/)
    // the control: a client with a certificate of the environment's CA is let in by the same node
    expect(await connectOutcome(url, identity), url).toBe('connected')
  }
}
