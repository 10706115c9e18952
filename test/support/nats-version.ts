/**
 * The nats-server the tests run (GAMEDAY_NATS_SERVER, else the one on PATH), for tests whose
 * expectation depends on a bug fixed upstream: they expect the fix where the server has it, and
 * the bug's measured effect — no more — where it does not.
 */
import { execFileSync } from 'node:child_process'

export const NATS_SERVER_VERSION: string =
  /v(\d+\.\d+\.\d+)/.exec(execFileSync(process.env.GAMEDAY_NATS_SERVER ?? 'nats-server', ['--version'], { encoding: 'utf8' }))?.[1] ?? '0.0.0'

/** Whether the server is older than `version` (x.y.z). */
export function natsServerBefore(version: string): boolean {
  const [a, b] = [NATS_SERVER_VERSION, version].map((v) => v.split('.').map(Number))
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i]! < b[i]!
  return false
}

/**
 * nats-server#4327, fixed in 2.9.21: a configuration reload on a server with accounts and service
 * imports under traffic can lose a message in flight. A certificate rotation reloads the
 * configuration, so on older servers a rotation may cost a request.
 */
export const RELOAD_MAY_LOSE_A_MESSAGE = natsServerBefore('2.9.21')
