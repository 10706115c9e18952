/** The containers environment's `nodes` part: NATS node containers, killed, stopped, paused and started again with their state (the same container). */
import type Dockerode from 'dockerode'
import type { Endpoints, NodeControl, NodeInfo } from '../../api/environment.ts'
import { TargetError } from '../../api/errors.ts'
import { waitFor } from '../../util/abort.ts'
import { fetchJson } from '../../nats/monitor.ts'
import { describeNodeAction } from '../topology.ts'
import type { ContainersConfig } from './config.ts'
import type { EnvironmentContainers } from './discovery.ts'
import { ignoreGone } from './docker.ts'

export function containerNodes(containers: EnvironmentContainers, config: ContainersConfig, endpoints: Endpoints): NodeControl {
  const nodeContainer = async (node: NodeInfo): Promise<Dockerode.Container> => {
    if (!config.clusters[node.cluster]?.nodes.some((n) => n.name === node.name)) throw new TargetError(`no node ${node.name} in cluster ${node.cluster}`)
    return (await containers.docker()).getContainer(containers.name(node.name))
  }
  const answers = async (node: NodeInfo): Promise<boolean> => {
    try {
      await fetchJson(`${endpoints.natsMonitor(node.cluster, node.name)}/varz`, 1000)
      return true
    } catch {
      return false
    }
  }
  return {
    describe: describeNodeAction,
    kill: async (node) => void (await ignoreGone((await nodeContainer(node)).kill())),
    stop: async (node) => void (await ignoreGone((await nodeContainer(node)).stop({ t: 30 }))),
    start: async (node) => {
      const c = await nodeContainer(node)
      const info = await c.inspect()
      if (info.State.Paused) await ignoreGone(c.unpause())
      if (!info.State.Running) await ignoreGone(c.start())
      // the same container: same store (its writable layer), same host ports
      await waitFor(`node ${node.name} to answer`, () => answers(node), { timeoutMs: 20_000, intervalMs: 100 })
    },
    pause: async (node) => void (await ignoreGone((await nodeContainer(node)).pause())),
    resume: async (node) => {
      const c = await nodeContainer(node)
      const info = await ignoreGone(c.inspect())
      if (info?.State.Paused) await ignoreGone(c.unpause())
    },
    lameDuck: async (node) => void (await ignoreGone((await nodeContainer(node)).kill({ signal: 'SIGUSR2' }))),
    isRunning: async (node) => (await ignoreGone((await nodeContainer(node)).inspect()))?.State.Running ?? false,
  }
}
