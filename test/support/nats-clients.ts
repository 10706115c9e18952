/** NATS clients that try their luck: what a server tells a client that skips TLS, or one that connects with given options. */
import { connect as tcpConnect } from 'node:net'
import { connect } from '@nats-io/transport-node'

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
