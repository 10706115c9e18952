/**
 * What a containers environment in the production shape keeps on the host: its private CA and
 * certificates, and its Redis passwords. Everything else is found by label, but gameday's own
 * clients (probes, faults) need the CA, their client certificate and the passwords, and a NATS
 * node reloads the certificate files a fault rewrites — so they live in a folder of the host,
 * bind-mounted at the same path into the NATS nodes (read-only), found again from the
 * environment id alone:
 *
 *   .gameday/containers/<id>/   (GAMEDAY_CONTAINERS_STATE_DIR/<id>)
 *     .gameday-environment      the marker: `env down` deletes the folder only when it carries it
 *     pki/                      the CA, server and client certificates, each NATS listener's own copy
 *     secure.json               where each of them is, and the passwords
 *
 * Only environments with `tls:` or `auth:` somewhere make it.
 */
import { existsSync, readFileSync, rmdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { REPO_ROOT } from '../../util/node-entry.ts'
import { clusterCaches } from '../redis-config.ts'
import type { NatsTls } from '../nats-config.ts'
import type { CertificateFiles } from '../tls/pki.ts'
import { claimStateDir, readMarker, MARKER } from '../local/state-dir.ts'
import { writeJsonAtomic } from '../local/state.ts'
import type { ContainersConfig } from './config.ts'

export interface SecureState {
  pki?: { dir: string; caFile: string; clients: Record<string, CertificateFiles> }
  /** NATS nodes' listener certificates */
  nats: Record<string, NatsTls & { names: string[] }>
  /** Redis Clusters: the password (auth: true), and each node's certificate (tls: true) */
  redis: Record<string, { password?: string; caFile?: string; nodes: Record<string, CertificateFiles> }>
}

export function hostStateDir(envId: string): string {
  return join(process.env.GAMEDAY_CONTAINERS_STATE_DIR ?? join(REPO_ROOT, '.gameday', 'containers'), envId)
}

/** Whether the environment needs a folder on the host: TLS or AUTH anywhere. */
export function needsHostState(config: ContainersConfig): boolean {
  return Object.values(config.clusters).some((c) => c.tls) || Object.values(clusterCaches(config.caches)).some((c) => c.tls || c.auth)
}

const stateFile = (dir: string) => join(dir, 'secure.json')

/** For `up`: the folder, claimed as this environment's (a folder of someone else's is refused). */
export function claimHostState(envId: string, source: string): string {
  const dir = hostStateDir(envId)
  claimStateDir(dir, source, 'containers')
  return dir
}

export function writeSecureState(dir: string, state: SecureState): void {
  writeJsonAtomic(stateFile(dir), state)
}

/** The environment's secure state, or undefined when it has none (plaintext, or not up). */
export function readSecureState(envId: string): SecureState | undefined {
  const file = stateFile(hostStateDir(envId))
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as SecureState) : undefined
}

/** For `down`: deletes what `up` made there — the folder itself, when it carries our marker; anything else is left alone. */
export function removeHostState(envId: string): void {
  const dir = hostStateDir(envId)
  if (!existsSync(dir) || readMarker(dir)?.kind !== 'containers') return
  for (const entry of ['pki', 'secure.json', MARKER]) rmSync(join(dir, entry), { recursive: true, force: true })
  try {
    rmdirSync(dir) // only when empty
  } catch {
    // something else was put in it: it stays, with what is not ours
  }
}
