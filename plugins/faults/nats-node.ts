/**
 * Faults on NATS server nodes: kill (SIGKILL / docker kill / EC2 force-stop), stop (SIGTERM /
 * docker stop / EC2 stop), restart, pause (SIGSTOP / docker pause) and lame duck. The node
 * comes back on revert with its stored state, as an operator's restart would bring it.
 */
import { z } from 'zod'
import {
  defineFault,
  Duration,
  nodesFromTargets,
  targetNodes,
  nodeTargets,
  resolveNodes,
  sleep,
  UnsupportedError,
  type FaultContext,
  type FaultType,
  type NodeAction,
  type NodeInfo,
} from '../../src/api/index.ts'

type NodesState = { cluster: string; nodes: string[] }

function nodeFault(opts: {
  type: string
  description: string
  /** what the environment is asked to do; it says how it does it, for plan */
  action: NodeAction
  act: (ctx: FaultContext, node: NodeInfo) => Promise<void>
  undo: (ctx: FaultContext, node: NodeInfo) => Promise<void>
}): FaultType<Record<string, never>, NodesState> {
  return defineFault<Record<string, never>, NodesState>({
    type: opts.type,
    description: opts.description,
    targets: ['node'],
    params: z.strictObject({}),
    resolve: async (ctx, spec) => {
      const nodes = await resolveNodes(ctx, spec.target)
      // an action the environment cannot do (pause on AWS) is refused here, before anything is journaled or touched
      for (const node of nodes) ctx.env.nodes.describe(opts.action, node)
      return nodeTargets(nodes, spec.target)
    },
    describe: (ctx, _spec, targets) => {
      const nodes = targetNodes(ctx, targets)
      return nodes.flatMap((n) => ctx.env.nodes.describe(opts.action, n))
    },
    inject: async (ctx, _spec, targets) => {
      const cluster = String(targets[0]?.cluster ?? '')
      const nodes = targetNodes(ctx, targets)
      for (const node of nodes) await opts.act(ctx, node)
      return { cluster, nodes: nodes.map((n) => n.name) }
    },
    stateFromTargets: (targets) => ({ cluster: String(targets[0]?.cluster ?? ''), nodes: targets.map((t) => t.id) }),
    revert: async (ctx, spec, state) => {
      // state is null after a crash between journaling the targets and finishing inject
      const names = state?.nodes ?? []
      for (const node of nodesFromTargets(ctx, names, state?.cluster || undefined)) await opts.undo(ctx, node)
    },
  })
}

const startNode = async (ctx: FaultContext, node: NodeInfo) => {
  if (ctx.env.nodes.resume) await ctx.env.nodes.resume(node) // a paused node must be thawed, not restarted
  await ctx.env.nodes.start(node)
}

export const natsKillNode = nodeFault({
  type: 'nats.kill-node',
  description: 'kill NATS nodes abruptly (SIGKILL); restarted with their stored state on revert',
  action: 'kill',
  act: (ctx, node) => ctx.env.nodes.kill(node),
  undo: startNode,
})

export const natsStopNode = nodeFault({
  type: 'nats.stop-node',
  description: 'stop NATS nodes gracefully (SIGTERM); started again on revert',
  action: 'stop',
  act: (ctx, node) => ctx.env.nodes.stop(node),
  undo: startNode,
})

export const natsPauseNode = nodeFault({
  type: 'nats.pause-node',
  description: 'freeze NATS nodes (SIGSTOP): alive but silent, the nastiest failure; thawed (SIGCONT) on revert',
  action: 'pause',
  act: async (ctx, node) => {
    if (!ctx.env.nodes.pause) throw new UnsupportedError(`the ${ctx.env.kind} environment cannot pause a node`)
    await ctx.env.nodes.pause(node)
  },
  undo: async (ctx, node) => {
    await ctx.env.nodes.resume?.(node)
  },
})

const RestartParams = z.strictObject({
  downtime: Duration.optional().describe('how long the node stays down between stop and start (default 0)'),
  graceful: z.boolean().default(false).describe('SIGTERM instead of SIGKILL'),
})

export const natsRestartNode = defineFault<z.infer<typeof RestartParams>, NodesState>({
  type: 'nats.restart-node',
  description: 'restart NATS nodes (kill or stop, optional downtime, start); nothing left to revert',
  targets: ['node'],
  params: RestartParams,
  resolve: async (ctx, spec) => nodeTargets(await resolveNodes(ctx, spec.target), spec.target),
  describe: (_ctx, spec, targets) => targets.map((t) => `restart NATS node ${t.id} (${spec.params.graceful ? 'SIGTERM' : 'SIGKILL'})`),
  inject: async (ctx, spec, targets) => {
    const cluster = String(targets[0]?.cluster ?? '')
    const nodes = targetNodes(ctx, targets)
    for (const node of nodes) {
      await (spec.params.graceful ? ctx.env.nodes.stop(node) : ctx.env.nodes.kill(node))
      if (spec.params.downtime) await sleep(spec.params.downtime, ctx.signal)
      await ctx.env.nodes.start(node)
    }
    return { cluster, nodes: nodes.map((n) => n.name) }
  },
  stateFromTargets: (targets) => ({ cluster: String(targets[0]?.cluster ?? ''), nodes: targets.map((t) => t.id) }),
  revert: async (ctx, _spec, state) => {
    // idempotent safety net: if the run died between stop and start, start the node
    for (const node of nodesFromTargets(ctx, state?.nodes ?? [], state?.cluster || undefined)) {
      if (!(await ctx.env.nodes.isRunning(node))) await ctx.env.nodes.start(node)
    }
  },
})
