/**
 * Faults TLS has, on environments with the `nats-tls` capability (NATS on the environment's own CA):
 *
 *   nats.rotate-certificate   a fresh certificate from the same CA on a node, its configuration
 *                             reloaded (no restart): clients and routes must not notice
 *   nats.bad-certificate      an expired certificate, or one from a CA nobody trusts, on one
 *                             node; with `restart` (default) the node restarts so its clients
 *                             must reconnect — and move to the other nodes, not hang on it. The
 *                             restart is a lame duck (`restartBy: lame-duck`, the default where
 *                             the environment has one), as an operator restarts a server: the
 *                             clients leave it with nothing in flight, so a request that hangs
 *                             is one the bad certificate caused, not one a kill cut mid-way
 *
 * Both keep the replaced certificate and revert to exactly it (another reload).
 */
import { z } from 'zod'
import {
  Duration,
  NATS_TLS,
  UnsupportedError,
  defineFault,
  waitFor,
  nodeTargets,
  targetNodes,
  requireCapability,
  resolveNodes,
  type FaultContext,
  type Json,
  type NodeInfo,
  type TlsListener,
} from '../../src/api/index.ts'

const Listener = z.enum(['clients', 'routes'])

type Installed = { installs: Json[] }

const tls = (ctx: FaultContext, who: string) => requireCapability(ctx.env, NATS_TLS, who)
const controlContext = (ctx: FaultContext) => ({ runId: ctx.runId, log: ctx.log, signal: ctx.signal })

async function restoreAll(ctx: FaultContext, who: string, state: Installed | null): Promise<void> {
  // newest first, so two installs on one listener end on the oldest certificate
  for (const s of [...(state?.installs ?? [])].reverse()) await tls(ctx, who).restore(s, controlContext(ctx))
}

const RotateParams = z.strictObject({
  listeners: z.array(Listener).min(1).default(['clients', 'routes']).describe('which listeners get the new certificate'),
})

export const natsRotateCertificate = defineFault<z.infer<typeof RotateParams>, Installed>({
  type: 'nats.rotate-certificate',
  description: "give a NATS node a fresh certificate from the environment's CA and reload its configuration (no restart); revert puts the old one back",
  targets: ['node'],
  params: RotateParams,
  resolve: async (ctx, spec) => {
    tls(ctx, 'nats.rotate-certificate') // refused at resolve, before a run's first mutating call
    return nodeTargets(await resolveNodes(ctx, spec.target), spec.target)
  },
  describe: (ctx, spec, targets) =>
    targetNodes(ctx, targets).flatMap((n) => spec.params.listeners.flatMap((l) => tls(ctx, 'nats.rotate-certificate').describe('install', n, l, 'fresh'))),
  async inject(ctx, spec, targets) {
    const installs: Json[] = []
    for (const n of targetNodes(ctx, targets))
      for (const l of spec.params.listeners) {
        installs.push(await tls(ctx, 'nats.rotate-certificate').install(n, l, 'fresh', controlContext(ctx)))
        ctx.checkpoint({ installs })
        ctx.evidence('nats.certificate', installs[installs.length - 1])
      }
    return { installs }
  },
  revert: (ctx, _spec, state) => restoreAll(ctx, 'nats.rotate-certificate', state),
})

const BadParams = z.strictObject({
  kind: z.enum(['expired', 'untrusted']).describe("expired: the CA's, validity in the past; untrusted: from a CA no client trusts"),
  listener: Listener.default('clients'),
  restart: z.boolean().default(true).describe('restart the node so that its clients must reconnect (and find the certificate refused)'),
  restartBy: z
    .enum(['lame-duck', 'kill'])
    .default('lame-duck')
    .describe('lame-duck: evict the clients, exit, start again (what an operator does); kill: SIGKILL and start, requests in flight cut'),
  exitTimeout: Duration.prefault('60s').describe('restartBy lame-duck: how long the server may take to evict its clients and exit'),
})
type BadP = z.infer<typeof BadParams>

/** The node restarted the way the params say: lame duck (clients evicted, then exit) or kill, then start. */
async function restartNode(ctx: FaultContext, node: NodeInfo, p: BadP): Promise<void> {
  if (p.restartBy === 'kill') {
    await ctx.env.nodes.kill(node)
  } else {
    const lameDuck = ctx.env.nodes.lameDuck
    if (!lameDuck) throw new UnsupportedError(`the ${ctx.env.kind} environment cannot put a NATS server into lame duck mode: use restartBy: kill`)
    await lameDuck.call(ctx.env.nodes, node)
    await waitFor(`${node.name} to evict its clients and exit (lame duck)`, async () => !(await ctx.env.nodes.isRunning(node)), {
      timeoutMs: p.exitTimeout,
      intervalMs: 100,
      signal: ctx.signal,
    })
  }
  await ctx.env.nodes.start(node)
}

export const natsBadCertificate = defineFault<BadP, Installed & { restarted: string[] }>({
  type: 'nats.bad-certificate',
  description: 'present an expired or untrusted certificate on a NATS node (clients must move to the other nodes, not hang); revert restores the good one',
  targets: ['node'],
  params: BadParams,
  resolve: async (ctx, spec) => {
    tls(ctx, 'nats.bad-certificate') // refused at resolve, before a run's first mutating call
    if (spec.params.restart && spec.params.restartBy === 'lame-duck' && !ctx.env.nodes.lameDuck)
      throw new UnsupportedError(`the ${ctx.env.kind} environment cannot put a NATS server into lame duck mode: use restartBy: kill`)
    return nodeTargets(await resolveNodes(ctx, spec.target), spec.target)
  },
  describe: (ctx, spec, targets) =>
    targetNodes(ctx, targets).flatMap((n) => [
      ...tls(ctx, 'nats.bad-certificate').describe('install', n, spec.params.listener, spec.params.kind),
      ...(spec.params.restart
        ? [...ctx.env.nodes.describe(spec.params.restartBy === 'kill' ? 'kill' : 'lameDuck', n), ...ctx.env.nodes.describe('start', n)]
        : []),
    ]),
  async inject(ctx, spec, targets) {
    const installs: Json[] = []
    const restarted: string[] = []
    const nodes: NodeInfo[] = targetNodes(ctx, targets)
    for (const n of nodes) {
      installs.push(await tls(ctx, 'nats.bad-certificate').install(n, spec.params.listener as TlsListener, spec.params.kind, controlContext(ctx)))
      ctx.checkpoint({ installs, restarted })
    }
    if (spec.params.restart)
      for (const n of nodes) {
        await restartNode(ctx, n, spec.params)
        restarted.push(n.name)
        ctx.log.info(`  restarted ${n.name}: its clients reconnect and meet the ${spec.params.kind} certificate`)
      }
    return { installs, restarted }
  },
  revert: (ctx, _spec, state) => restoreAll(ctx, 'nats.bad-certificate', state),
})
