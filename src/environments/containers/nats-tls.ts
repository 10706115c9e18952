/**
 * The containers environment's `nats-tls` capability: a node's listener certificates are files in
 * the environment's folder on the host, bind-mounted into its container at the same path, and
 * the node reloads its configuration (certificates included, no restart) on SIGHUP — `docker kill
 * --signal HUP`. gameday checks what a listener presents through its published port.
 */
import type { NatsTlsControl } from '../../api/environment.ts'
import { TargetError } from '../../api/errors.ts'
import { natsTlsControl } from '../tls/nats-tls-control.ts'
import type { EnvironmentContainers } from './discovery.ts'
import { readSecureState } from './host-state.ts'

export function containerNatsTls(containers: EnvironmentContainers): NatsTlsControl {
  const secure = () => {
    const s = readSecureState(containers.envId)
    if (!s?.pki) throw new TargetError(`the containers environment ${containers.envId} has no private CA: is it up, with tls: true on its cluster?`)
    return s
  }
  return natsTlsControl({
    get pkiDir() {
      return secure().pki!.dir
    },
    node: (name) => {
      const tls = secure().nats[name]
      const n = containers.discovered().nodes[name]
      if (!tls || !n?.clusterPort) throw new TargetError(`NATS node ${name} does not run TLS in the containers environment ${containers.envId}`)
      return {
        files: { clients: tls.client, routes: tls.routes },
        names: tls.names,
        address: { clients: { host: '127.0.0.1', port: n.clientPort }, routes: { host: '127.0.0.1', port: n.clusterPort } },
      }
    },
    reload: async (name) => {
      await (await containers.docker()).getContainer(containers.name(name)).kill({ signal: 'SIGHUP' })
    },
    describeReload: (name) => `docker kill --signal HUP ${containers.name(name)}: nats-server reloads its configuration and certificates, no restart`,
  })
}
