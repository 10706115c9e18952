/**
 * NATS connection for a task: reconnects forever (a task never gives up on its cluster; the
 * supervisor decides when it dies), with a short wait between attempts, and a connection name
 * `SERVICE/TASK_ID` so `/connz` shows who is who.
 *
 * `ignoreClusterUpdates`: the task only ever dials the URLs in NATS_URL. In the local
 * environment those may be fault-proxy addresses; learning the servers' real addresses from
 * cluster INFO would let clients walk around an injected partition.
 *
 * TLS (the production shape): NATS_CA_FILE is the CA the servers' certificates come from, and
 * NATS_CERT_FILE / NATS_KEY_FILE the task's client certificate — with accounts, its subject is
 * the task's user. The URLs stay nats://: the client upgrades when the server requires TLS.
 *
 * GAMEDAY_BROKEN=no-reconnect: the connection is never re-established once lost (`reconnect:
 * false`); the task stays up — alive and RUNNING to its scheduler — but serves nothing again.
 */
import { connect, type NatsConnection } from '@nats-io/transport-node'
import type { TaskEnv } from './env.ts'
import type { Logger } from './log.ts'

export interface ConnectionState {
  /** true while the client holds a connection to some server */
  connected: boolean
}

/** NATS_CA_FILE, NATS_CERT_FILE, NATS_KEY_FILE as nats.js TLS options (none when unset). */
export function natsTlsFromEnv(raw: NodeJS.ProcessEnv): { tls: { caFile?: string; certFile?: string; keyFile?: string } } | Record<string, never> {
  const caFile = raw.NATS_CA_FILE || undefined
  const certFile = raw.NATS_CERT_FILE || undefined
  const keyFile = raw.NATS_KEY_FILE || undefined
  if (!caFile && !certFile) return {}
  if (!certFile !== !keyFile) throw new Error('NATS_CERT_FILE and NATS_KEY_FILE go together: set both, or neither')
  return { tls: { ...(caFile ? { caFile } : {}), ...(certFile ? { certFile, keyFile } : {}) } }
}

export async function connectNats(env: TaskEnv, log: Logger): Promise<{ nc: NatsConnection; state: ConnectionState }> {
  const nc = await connect({
    ...natsTlsFromEnv(env.raw),
    servers: env.natsServers,
    name: `${env.service}/${env.taskId}`,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    reconnectJitter: 100,
    waitOnFirstConnect: true,
    ignoreClusterUpdates: true,
    // NATS_URL lists this task's own AZ first: prefer it, as an AZ-aware deployment does
    noRandomize: true,
    pingInterval: 5_000,
    maxPingOut: 2,
    timeout: 2_000,
    ...(env.broken.has('no-reconnect') ? { reconnect: false } : {}),
  })
  const state: ConnectionState = { connected: true }
  log('nats-connected', { server: nc.getServer() })
  void (async () => {
    for await (const s of nc.status()) {
      switch (s.type) {
        case 'disconnect':
          state.connected = false
          log('nats-disconnected', { server: s.server })
          break
        case 'reconnect':
          state.connected = true
          log('nats-reconnected', { server: s.server })
          break
        case 'ldm':
          log('nats-lame-duck', { server: s.server })
          break
        case 'error':
          log.error('nats-error', s.error)
          break
        case 'close':
          state.connected = false
          log('nats-closed', env.broken.has('no-reconnect') ? { broken: 'no-reconnect' } : {})
          // a real service lives on after this (its HTTP server, its metrics): so does the broken variant
          if (env.broken.has('no-reconnect')) setInterval(() => {}, 60_000)
          break
        default:
          break
      }
    }
  })().catch(() => {
    // the status iterator ends with the connection; nc.closed() below records the close
  })
  void nc.closed().then(() => {
    state.connected = false
  })
  return { nc, state }
}
