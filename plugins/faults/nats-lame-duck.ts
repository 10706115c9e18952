/**
 * nats.lame-duck: put NATS servers into lame duck mode, one after the other, as an operator
 * rolling the cluster would (`nats-server --signal ldm`, SIGUSR2). A server in lame duck stops
 * accepting clients, tells them (INFO `ldm: true`), waits its grace period, then closes its
 * clients spread over its lame-duck duration and exits. The fault waits for that exit, starts
 * the server again with its stored state, waits for the cluster to be whole, and moves on to
 * the next one. Whether clients move without losing a request is the thing under test.
 *
 *   - fault: nats.lame-duck
 *     target: { cluster: core }           # every node in turn (or az:, nodes:, role:, count:)
 *     with: { pause: 2s }
 *
 * Evidence per node (`nats.lame-duck`): how long until the process exited, until it listened
 * again, until the cluster was healthy. Revert starts any target that is not running.
 */
import { z } from 'zod'
import {
  defineFault,
  Duration,
  formatDuration,
  nodesFromTargets,
  targetNodes,
  nodeTargets,
  observeCluster,
  resolveNodes,
  sleep,
  UnsupportedError,
  waitFor,
  writeDuration,
  type FaultContext,
  type Json,
  type NodeInfo,
} from '../../src/api/index.ts'

const Params = z.strictObject({
  restart: z.boolean().default(true).describe('start each server again once it has exited (false: leave it down until revert)'),
  exitTimeout: Duration.prefault('3m').describe('how long a server may take to finish its lame duck and exit (its lame_duck_duration bounds it)'),
  waitHealthy: z
    .boolean()
    .default(true)
    .describe('after a restart, wait for the cluster to be whole (full mesh, healthy, a meta leader) before the next server'),
  healthTimeout: Duration.prefault('60s').describe('how long to wait for the cluster to be whole again'),
  pause: Duration.prefault(0).describe('pause between one server and the next'),
})
type P = z.infer<typeof Params>
type State = { cluster: string; nodes: string[] }

export interface LameDuckTiming {
  cluster: string
  node: string
  az: string
  signalledAt: string
  /** from the signal to the process exit (the grace period plus closing every client) */
  exitMs: number
  /** from the start request to the server listening again */
  restartMs?: number
  /** from the start request to a whole cluster */
  healthyAfterMs?: number
  summary: string
}

/** Servers this process put into lame duck that have not been started again: a revert must wait for their exit. */
const inLameDuck = new Set<string>()
const key = (n: NodeInfo) => `${n.cluster}/${n.name}`

async function waitForExit(ctx: FaultContext, node: NodeInfo, p: P): Promise<void> {
  await waitFor(`${node.name} to finish its lame duck and exit`, async () => !(await ctx.env.nodes.isRunning(node)), {
    timeoutMs: p.exitTimeout,
    intervalMs: 100,
    signal: ctx.signal,
  })
}

/** An environment that says it cannot put a server into lame duck mode (AWS: its describe throws) refuses at resolve and plan, not half-way through a run. */
function refuseUnlessSupported(ctx: FaultContext, nodes: NodeInfo[]): void {
  for (const node of nodes) ctx.env.nodes.describe('lameDuck', node) // throws the environment's own UnsupportedError
}

async function lameDuckOne(ctx: FaultContext, node: NodeInfo, p: P): Promise<LameDuckTiming> {
  const lameDuck = ctx.env.nodes.lameDuck
  if (!lameDuck) throw new UnsupportedError(`the ${ctx.env.kind} environment cannot put a NATS server into lame duck mode`)
  const signalledAt = Date.now()
  inLameDuck.add(key(node))
  await lameDuck.call(ctx.env.nodes, node)
  ctx.log.info(`  nats.lame-duck: ${node.name} (${node.az}) in lame duck mode`)
  await waitForExit(ctx, node, p)
  const exitMs = Date.now() - signalledAt
  const timing: LameDuckTiming = { cluster: node.cluster, node: node.name, az: node.az, signalledAt: new Date(signalledAt).toISOString(), exitMs, summary: '' }
  if (p.restart) {
    const startAt = Date.now()
    await ctx.env.nodes.start(node)
    inLameDuck.delete(key(node))
    timing.restartMs = Date.now() - startAt
    if (p.waitHealthy) {
      await waitFor(
        `cluster ${node.cluster} to be whole again after restarting ${node.name}`,
        async () => (await observeCluster(ctx.env, node.cluster)).healthy,
        {
          timeoutMs: p.healthTimeout,
          intervalMs: 250,
          signal: ctx.signal,
        },
      )
      timing.healthyAfterMs = Date.now() - startAt
    }
  }
  timing.summary =
    `${node.name}: lame duck → exited after ${formatDuration(exitMs)}` +
    (timing.restartMs !== undefined ? `; listening again ${formatDuration(timing.restartMs)} after the restart` : '; left down') +
    (timing.healthyAfterMs !== undefined ? `, cluster whole after ${formatDuration(timing.healthyAfterMs)}` : '')
  return timing
}

export const natsLameDuck = defineFault<P, State>({
  type: 'nats.lame-duck',
  description: 'put NATS servers into lame duck mode one after the other (stop accepting, evict clients, exit), restarting each before the next',
  targets: ['node'],
  params: Params,
  // one server at a time: each its own wave for blast-radius guardrails
  resolve: async (ctx, spec) => {
    const nodes = await resolveNodes(ctx, spec.target)
    refuseUnlessSupported(ctx, nodes)
    return nodeTargets(nodes, spec.target).map((t, i) => ({ ...t, wave: i + 1 }))
  },
  describe: (ctx, spec, targets) => {
    refuseUnlessSupported(
      ctx,
      targets.map((t) => ({ cluster: String(t.cluster), name: t.id, az: String(t.az) })),
    )
    return targets.map(
      (t, i) =>
        `${i + 1}. lame duck NATS node ${t.id} (${t.az}), wait for it to exit (within ${writeDuration(spec.params.exitTimeout)})` +
        (spec.params.restart ? `, start it again${spec.params.waitHealthy ? ' and wait for the cluster to be whole' : ''}` : ', leave it down until revert'),
    )
  },
  inject: async (ctx, spec, targets) => {
    const cluster = String(targets[0]?.cluster ?? '')
    const nodes = targetNodes(ctx, targets)
    const pause = spec.params.pause
    for (const [i, node] of nodes.entries()) {
      if (ctx.signal.aborted) throw ctx.signal.reason
      const timing = await lameDuckOne(ctx, node, spec.params)
      ctx.log.info(`  nats.lame-duck: ${timing.summary}`)
      ctx.evidence('nats.lame-duck', timing as unknown as Json)
      if (pause > 0 && i < nodes.length - 1) await sleep(pause, ctx.signal)
    }
    return { cluster, nodes: nodes.map((n) => n.name) }
  },
  stateFromTargets: (targets) => ({ cluster: String(targets[0]?.cluster ?? ''), nodes: targets.map((t) => t.id) }),
  revert: async (ctx, spec, state) => {
    for (const node of nodesFromTargets(ctx, state?.nodes ?? [], state?.cluster || undefined)) {
      // a server still in its lame duck exits by itself: wait for that, then start it
      if (inLameDuck.has(key(node))) await waitForExit(ctx, node, spec.params)
      if (!(await ctx.env.nodes.isRunning(node))) {
        ctx.log.info(`  nats.lame-duck: starting ${node.name} again`)
        await ctx.env.nodes.start(node)
      }
      inLameDuck.delete(key(node))
    }
  },
})
