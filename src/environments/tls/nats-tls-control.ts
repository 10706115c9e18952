/**
 * The `nats-tls` capability of a process environment whose NATS runs on its private CA: install
 * a fresh, expired or untrusted certificate on one listener of one node and reload the server's
 * configuration (SIGHUP locally, `docker kill --signal HUP` on containers — no restart), and put
 * back exactly what was there. Every install first copies the files it overwrites into a backup
 * folder named in the revert state; it returns once the node presents the new certificate.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { connect as tcpConnect } from 'node:net'
import { join } from 'node:path'
import { connect as tlsConnect } from 'node:tls'
import type { CertificateKind, ControlContext, NatsTlsControl, NodeInfo, TlsListener } from '../../api/environment.ts'
import type { Json } from '../../api/fault.ts'
import { waitFor } from '../../util/abort.ts'
import { loadEnvironmentPki } from './environment-pki.ts'
import { fingerprint, issueExpiredServer, issueUntrustedServer, type CertificateFiles } from './pki.ts'

export interface NatsTlsNode {
  files: Record<TlsListener, CertificateFiles>
  /** the names its certificates carry */
  names: string[]
  /** where gameday reaches each listener directly */
  address: Record<TlsListener, { host: string; port: number }>
}

export interface NatsTlsRuntime {
  pkiDir: string
  node(name: string): NatsTlsNode
  reload(name: string): Promise<void>
  /** how the environment reloads a node, for plan */
  describeReload(name: string): string
}

interface InstallState {
  node: string
  listener: TlsListener
  backup: string
  original: string
  installed: string
  kind: CertificateKind
}

/** The certificate a NATS listener presents: read its INFO line, then upgrade to TLS as a client would (without verifying). */
export function presentedCertificate(address: { host: string; port: number }, timeoutMs = 3_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect(address)
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error(`no TLS handshake with ${address.host}:${address.port} within ${timeoutMs} ms`))
    }, timeoutMs)
    socket.once('error', (err) => {
      clearTimeout(timer)
      reject(err)
    })
    // a client port sends INFO before TLS; a route port may wait for the dialler's handshake: start it after INFO or a short silence
    let upgraded = false
    const upgrade = () => {
      if (upgraded) return
      upgraded = true
      socket.removeAllListeners('data')
      const tls = tlsConnect({ socket, rejectUnauthorized: false, servername: address.host === '127.0.0.1' ? undefined : address.host })
      tls.once('secureConnect', () => {
        clearTimeout(timer)
        const fp = tls.getPeerX509Certificate()?.fingerprint256.replaceAll(':', '').toLowerCase() ?? ''
        tls.destroy()
        resolve(fp)
      })
      tls.once('error', (err) => {
        clearTimeout(timer)
        reject(err)
      })
    }
    socket.once('data', upgrade)
    socket.once('connect', () => setTimeout(upgrade, 300))
  })
}

function writeAtomically(file: string, content: string, mode?: number): void {
  const tmp = `${file}.gameday-tmp`
  writeFileSync(tmp, content, mode !== undefined ? { mode } : {})
  renameSync(tmp, file)
}

export function natsTlsControl(rt: NatsTlsRuntime): NatsTlsControl {
  const awaitPresented = (node: string, listener: TlsListener, fp: string, signal?: AbortSignal) =>
    waitFor(
      `NATS node ${node} to present the new ${listener} certificate (configuration reloaded)`,
      async () => (await presentedCertificate(rt.node(node).address[listener])) === fp,
      { timeoutMs: 10_000, intervalMs: 100, signal },
    )
  return {
    async install(node: NodeInfo, listener: TlsListener, kind: CertificateKind, ctx: ControlContext): Promise<Json> {
      const n = rt.node(node.name)
      const files = n.files[listener]
      const backup = join(rt.pkiDir, 'backups', `${ctx.runId}-${node.name}-${listener}-${Date.now()}`)
      mkdirSync(backup, { recursive: true })
      copyFileSync(files.certFile, join(backup, 'cert.pem'))
      copyFileSync(files.keyFile, join(backup, 'key.pem'))
      const { ca } = await loadEnvironmentPki(rt.pkiDir)
      const issued =
        kind === 'fresh'
          ? await ca.issueServer(node.name, { names: n.names })
          : kind === 'expired'
            ? await issueExpiredServer(ca, node.name, n.names)
            : await issueUntrustedServer(node.name, n.names)
      const original = await fingerprint(readFileSync(files.certFile, 'utf8'))
      // key first: a reload between the two writes must not pair the new certificate with the old key
      writeAtomically(files.keyFile, issued.key, 0o600)
      writeAtomically(files.certFile, issued.cert)
      try {
        await rt.reload(node.name)
        await awaitPresented(node.name, listener, issued.fingerprint, ctx.signal)
      } catch (err) {
        // leave nothing half-done behind: the old files back (the node may never have loaded the new ones)
        writeAtomically(files.keyFile, readFileSync(join(backup, 'key.pem'), 'utf8'), 0o600)
        writeAtomically(files.certFile, readFileSync(join(backup, 'cert.pem'), 'utf8'))
        await rt.reload(node.name)
        throw err
      }
      ctx.log.info(`  ${node.name} presents a ${kind} ${listener} certificate (${issued.fingerprint.slice(0, 16)}…), configuration reloaded`)
      const state: InstallState = { node: node.name, listener, backup, original, installed: issued.fingerprint, kind }
      return state as unknown as Json
    },
    async restore(state: Json, ctx: ControlContext): Promise<void> {
      const s = state as unknown as InstallState
      const files = rt.node(s.node).files[s.listener]
      if (!existsSync(join(s.backup, 'cert.pem'))) throw new Error(`the backup of ${s.node}'s ${s.listener} certificate is gone (${s.backup})`)
      writeAtomically(files.keyFile, readFileSync(join(s.backup, 'key.pem'), 'utf8'), 0o600)
      writeAtomically(files.certFile, readFileSync(join(s.backup, 'cert.pem'), 'utf8'))
      await rt.reload(s.node)
      await awaitPresented(s.node, s.listener, s.original, ctx.signal)
    },
    presented: (node, listener) => presentedCertificate(rt.node(node.name).address[listener]),
    describe: (action, node, listener, kind) => [
      action === 'install'
        ? `write a ${kind ?? 'fresh'} ${listener} certificate for NATS node ${node.name} (the old one kept)`
        : `put back NATS node ${node.name}'s ${listener} certificate`,
      rt.describeReload(node.name),
    ],
  }
}
