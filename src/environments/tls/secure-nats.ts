/**
 * The production shape's NATS, as both process environments lay it out at `env up`: the private
 * CA and its certificates (a server certificate per NATS node and Redis Cluster node, a client
 * certificate per service and one for gameday), each NATS listener's own copy of its node's
 * certificate (a fault replaces one and not the other), the `accounts { }` block, and what a
 * client — gameday's probes, the stand-in's readiness checks, a task — passes to connect.
 */
import { copyFileSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { NatsTls } from '../nats-config.ts'
import { accountsConfig, GAMEDAY_IDENTITY, planAccounts } from '../nats-accounts.ts'
import { makeEnvironmentPki, type EnvironmentPki } from './environment-pki.ts'
import type { CertificateFiles } from './pki.ts'

export interface PkiServers {
  /** NATS nodes and Redis Cluster nodes, each with the names it is dialled by (loopback names are added) */
  servers: { name: string; names: string[] }[]
  /** the services: each gets a client certificate CN=<service> */
  services: string[]
}

/** The CA and every certificate, under `dir`; gameday's own client identity included. */
export function makePki(dir: string, plan: PkiServers): Promise<EnvironmentPki> {
  return makeEnvironmentPki(dir, { servers: plan.servers, clients: [...plan.services, GAMEDAY_IDENTITY] })
}

/** Each listener of a NATS node its own copy of the node's certificate, under `<dir>/nats/`. */
export function natsListenerFiles(pki: EnvironmentPki, node: string): NatsTls & { names: string[] } {
  const server = pki.servers[node]
  if (!server) throw new Error(`no certificate for NATS node ${node}`)
  const dir = join(pki.dir, 'nats')
  mkdirSync(dir, { recursive: true })
  const copy = (listener: string): CertificateFiles => {
    const files = { certFile: join(dir, `${node}-${listener}.pem`), keyFile: join(dir, `${node}-${listener}-key.pem`) }
    copyFileSync(server.keyFile, files.keyFile)
    copyFileSync(server.certFile, files.certFile)
    return files
  }
  return { caFile: pki.caFile, client: copy('clients'), routes: copy('routes'), names: server.names }
}

/** The `accounts { }` block of an environment's services (what each one `calls:`). */
export function accountsBlock(services: Record<string, { calls?: string[] }>): string {
  return accountsConfig(planAccounts(Object.entries(services).map(([name, s]) => ({ name, calls: s.calls ?? [] }))))
}

/** nats.js connection options of one identity: the CA, and its client certificate (its user, with accounts). */
export function natsTlsOptions(caFile: string, client: CertificateFiles): { tls: { caFile: string; certFile: string; keyFile: string } } {
  return { tls: { caFile, certFile: client.certFile, keyFile: client.keyFile } }
}

/** A task's NATS_CA_FILE, NATS_CERT_FILE, NATS_KEY_FILE: the CA and its service's client certificate. */
export function natsTlsVariables(caFile: string, client: CertificateFiles | undefined): Record<string, string> {
  if (!client) return {}
  return { NATS_CA_FILE: caFile, NATS_CERT_FILE: client.certFile, NATS_KEY_FILE: client.keyFile }
}
