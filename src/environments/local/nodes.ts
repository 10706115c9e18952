/** The local environment's `nodes` part: nats-server processes, signalled by pid, started again by the supervisor. */
import type { NodeControl, NodeInfo } from '../../api/environment.ts'
import { TargetError } from '../../api/errors.ts'
import { waitFor } from '../../util/abort.ts'
import { canConnect } from '../../util/ports.ts'
import { describeNodeAction } from '../topology.ts'
import type { SupervisorControl } from './control.ts'
import { isAlive, isStopped, killHard, readPid, signal, terminate } from './processes.ts'
import type { LocalState, NodeState } from './state.ts'

export const NATS_BIN = process.env.GAMEDAY_NATS_SERVER ?? 'nats-server'

export function localNodes(state: () => LocalState, control: SupervisorControl): NodeControl {
  const nodeState = (node: NodeInfo): NodeState => {
    const n = state().nodes[node.name]
    if (!n || n.cluster !== node.cluster) throw new TargetError(`no node ${node.name} in cluster ${node.cluster}`)
    return n
  }
  const pidOf = (node: NodeInfo) => readPid(nodeState(node).pidFile)
  return {
    describe: describeNodeAction,
    kill: async (node) => killHard(pidOf(node)),
    stop: async (node) => terminate(pidOf(node), 30_000),
    start: async (node) => {
      const n = nodeState(node)
      const pid = readPid(n.pidFile)
      if (isAlive(pid, NATS_BIN)) {
        if (isStopped(pid!)) signal(pid, 'SIGCONT')
        return
      }
      await control(`/nodes/${encodeURIComponent(n.name)}/start`)
      await waitFor(`node ${n.name} to listen`, async () => canConnect(n.clientPort, '127.0.0.1', 500), { timeoutMs: 20_000, intervalMs: 50 })
    },
    pause: async (node) => void signal(pidOf(node), 'SIGSTOP'),
    resume: async (node) => void signal(pidOf(node), 'SIGCONT'),
    lameDuck: async (node) => void signal(pidOf(node), 'SIGUSR2'),
    isRunning: async (node) => isAlive(pidOf(node), NATS_BIN),
    storeDir: (node) => nodeState(node).storeDir,
  }
}
