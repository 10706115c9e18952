/**
 * The local environment's `nats-tls` capability: a node's listener certificates are files under
 * the state's pki/nats/, and a node reloads its configuration (certificates included, no restart)
 * on SIGHUP, sent to the pid its supervisor recorded.
 */
import type { NatsTlsControl } from '../../api/environment.ts'
import { TargetError } from '../../api/errors.ts'
import { natsTlsControl } from '../tls/nats-tls-control.ts'
import { NATS_BIN } from './nodes.ts'
import { isAlive, readPid, signal } from './processes.ts'
import type { LocalState } from './state.ts'

export function localNatsTls(state: () => LocalState): NatsTlsControl {
  const node = (name: string) => {
    const n = state().nodes[name]
    if (!n?.tls) throw new TargetError(`NATS node ${name} does not run TLS in this environment (tls: true on its cluster)`)
    return n
  }
  return natsTlsControl({
    get pkiDir() {
      const pki = state().pki
      if (!pki) throw new TargetError('this local environment has no private CA (no cluster with tls: true)')
      return pki.dir
    },
    node: (name) => {
      const n = node(name)
      return {
        files: { clients: n.tls!.client, routes: n.tls!.routes },
        names: n.tls!.names,
        address: { clients: { host: '127.0.0.1', port: n.clientPort }, routes: { host: '127.0.0.1', port: n.clusterPort } },
      }
    },
    reload: async (name) => {
      const pid = readPid(node(name).pidFile)
      if (!isAlive(pid, NATS_BIN)) throw new TargetError(`NATS node ${name} is not running: its configuration cannot be reloaded`)
      signal(pid, 'SIGHUP')
    },
    describeReload: (name) => `SIGHUP nats-server ${name}: it reloads its configuration and certificates, no restart`,
  })
}
