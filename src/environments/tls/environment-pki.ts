/**
 * The files of an environment's private CA, made at `env up`: the CA (its key kept, so faults can
 * have more certificates issued while the environment runs), a certificate per server and per
 * client, all under one folder of the environment's state:
 *
 *   <dir>/ca.pem, ca-key.pem
 *   <dir>/servers/<name>.pem, <name>-key.pem      SANs: the names the server is dialled by
 *   <dir>/clients/<name>.pem, <name>-key.pem      subject CN=<name>: the identity a server maps to a user
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { CertificateAuthority, writeCertificate, type CertificateFiles } from './pki.ts'

/** The names every server certificate carries: how processes on this host reach any server. */
export const LOOPBACK_NAMES = ['127.0.0.1', 'localhost']

export interface PkiPlan {
  /** each server and the DNS names / IPs it is dialled by (loopback names are added) */
  servers: { name: string; names: string[] }[]
  /** client identities: one per service, and one for gameday itself (probes, readiness checks) */
  clients: string[]
}

export interface EnvironmentPki {
  dir: string
  caFile: string
  caKeyFile: string
  servers: Record<string, CertificateFiles & { names: string[] }>
  clients: Record<string, CertificateFiles>
}

export async function makeEnvironmentPki(dir: string, plan: PkiPlan, caName = 'gameday environment CA'): Promise<EnvironmentPki> {
  const ca = await CertificateAuthority.create(caName)
  const caFile = join(dir, 'ca.pem')
  const caKeyFile = join(dir, 'ca-key.pem')
  writeCertificate(dir, 'ca', { cert: ca.certPem, key: await ca.keyPem(), fingerprint: '' })
  const servers: EnvironmentPki['servers'] = {}
  for (const s of plan.servers) {
    const names = [...new Set([...s.names, ...LOOPBACK_NAMES])]
    servers[s.name] = { ...writeCertificate(join(dir, 'servers'), s.name, await ca.issueServer(s.name, { names })), names }
  }
  const clients: EnvironmentPki['clients'] = {}
  for (const name of plan.clients) clients[name] = writeCertificate(join(dir, 'clients'), name, await ca.issueClient(name))
  const pki = { dir, caFile, caKeyFile, servers, clients }
  writeFileSync(join(dir, 'pki.json'), JSON.stringify(pki, null, 2))
  return pki
}

/** The environment's PKI as written by `makeEnvironmentPki`, and its CA for issuing more. */
export async function loadEnvironmentPki(dir: string): Promise<{ pki: EnvironmentPki; ca: CertificateAuthority }> {
  const file = join(dir, 'pki.json')
  if (!existsSync(file)) throw new Error(`no private CA in ${dir}: bring the environment up with TLS first`)
  const pki = JSON.parse(readFileSync(file, 'utf8')) as EnvironmentPki
  const ca = await CertificateAuthority.load(readFileSync(pki.caFile, 'utf8'), readFileSync(pki.caKeyFile, 'utf8'))
  return { pki, ca }
}
