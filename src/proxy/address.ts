/** `host:port` strings as Toxiproxy takes and reports them (IPv6 in brackets). */
import { isIP } from 'node:net'
import { errors } from './errors.ts'

export interface HostPort {
  host: string
  port: number
}

/**
 * Parse `host:port`, `[v6]:port` or `:port`. An empty host means loopback here (Go would bind
 * every interface; this proxy only does that when told `0.0.0.0` or `[::]` explicitly), and
 * `localhost` means 127.0.0.1, as Go resolves it.
 */
export function parseHostPort(value: string, what: string, { allowZeroPort }: { allowZeroPort: boolean }): HostPort {
  const m = /^(?:\[([^\]]*)\]|([^:]*)):(\d{1,5})$/.exec(value.trim())
  if (!m) throw errors.badBody(`${what} must be host:port, got ${JSON.stringify(value)}`)
  let host = m[1] ?? m[2] ?? ''
  const port = Number(m[3])
  if (port > 65535 || (port === 0 && !allowZeroPort)) throw errors.badBody(`${what} has an invalid port: ${JSON.stringify(value)}`)
  if (host === '' || host === 'localhost') host = '127.0.0.1'
  if (m[1] !== undefined && isIP(host) !== 6) throw errors.badBody(`${what} has an invalid IPv6 address: ${JSON.stringify(value)}`)
  return { host, port }
}

export function formatHostPort(host: string, port: number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`
}

export function isLoopback(host: string): boolean {
  if (host === 'localhost' || host === '::1') return true
  if (isIP(host) === 4) return host.startsWith('127.')
  return /^::ffff:127\./i.test(host)
}
