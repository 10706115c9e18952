/**
 * nats.corrupt-store: Jepsen's file nemeses for JetStream. With the node killed, flip bits in or
 * truncate its JetStream store files (message blocks `*.blk`, indexes `*.idx` / `*.fss` /
 * `index.db`), then start it again; the cluster must repair or at least never lose an
 * acknowledged message (Jepsen found it did, nats-server #7549).
 *
 *   - fault: nats.corrupt-store
 *     target: { cluster: core, role: stream-leader, stream: GAMEDAY_DURABILITY }
 *     with: { mode: bitflip, files: blocks, count: 3 }
 *
 * The choice of files, offsets and bits comes from the step's seeded random stream (`--seed`
 * replays it), among the node's files sorted by path. It refuses to touch more than a minority of
 * the cluster's nodes: corrupting a majority can lose data by design, which proves nothing.
 * It needs the nodes' store directories (`env.nodes.storeDir`, the local environment); elsewhere it
 * fails with a clear error. Revert: the node is started again if it is not running (the corruption
 * itself cannot be undone; what the cluster does with it is the point).
 */
import { readdirSync, statSync, openSync, readSync, writeSync, closeSync, truncateSync, existsSync } from 'node:fs'
import { join, relative, sep } from 'node:path'
import { z } from 'zod'
import {
  BlastRadiusError,
  defineFault,
  nodesFromTargets,
  targetNodes,
  nodeTargets,
  resolveNodes,
  TargetError,
  type FaultContext,
  type Json,
  type NodeInfo,
  type Rng,
} from '../../src/api/index.ts'

const Params = z.strictObject({
  mode: z.enum(['bitflip', 'truncate']).default('bitflip').describe('flip one random bit, or cut the file at a random length'),
  files: z.enum(['blocks', 'indexes', 'all']).default('blocks').describe('message blocks (*.blk), indexes (*.idx, *.fss, index.db), or every store file'),
  count: z.int().positive().max(1000).default(1).describe('corruptions per node (each picks a file and an offset)'),
  stream: z.string().optional().describe("only this stream's files (jetstream/<account>/streams/<stream>/)"),
  graceful: z.boolean().default(false).describe('stop the node with SIGTERM instead of SIGKILL before corrupting'),
})
type P = z.infer<typeof Params>

export type Corruption = {
  node: string
  /** path relative to the node's store directory */
  file: string
  mode: 'bitflip' | 'truncate'
  /** bitflip: the byte offset; truncate: the new length */
  offset: number
  /** bitflip: the bit flipped (0–7) */
  bit?: number
  sizeBefore: number
}

type State = { cluster: string; nodes: string[]; corrupted: Corruption[] }

const isBlock = (name: string) => name.endsWith('.blk')
const isIndex = (name: string) => name.endsWith('.idx') || name.endsWith('.fss') || name === 'index.db'

/** The store files a corruption may pick, sorted by path (so a seeded pick is reproducible). */
export function storeFiles(storeDir: string, files: P['files'], stream?: string): string[] {
  const out: string[] = []
  const walk = (dir: string) => {
    let entries
    try {
      entries = readdirSync(dir, { withFileTypes: true })
    } catch {
      return
    }
    for (const e of entries) {
      const path = join(dir, e.name)
      if (e.isDirectory()) walk(path)
      else if (e.isFile() && (files === 'all' || (files === 'blocks' ? isBlock(e.name) : isIndex(e.name)))) out.push(path)
    }
  }
  walk(storeDir)
  const inStream = (path: string) => {
    const parts = relative(storeDir, path).split(sep)
    const i = parts.indexOf('streams')
    return i >= 0 && parts[i + 1] === stream
  }
  return (stream ? out.filter(inStream) : out).sort()
}

/** Applies `count` seeded corruptions to the files of one (stopped) node's store. */
export function corruptStore(node: string, storeDir: string, p: Pick<P, 'mode' | 'files' | 'count' | 'stream'>, rng: Rng): Corruption[] {
  const done: Corruption[] = []
  for (let i = 0; i < p.count; i++) {
    const candidates = storeFiles(storeDir, p.files, p.stream).filter((f) => statSync(f).size > 0)
    if (candidates.length === 0) break
    const file = candidates[rng.int(candidates.length)]
    const size = statSync(file).size
    const rel = relative(storeDir, file)
    if (p.mode === 'truncate') {
      const length = rng.int(size)
      truncateSync(file, length)
      done.push({ node, file: rel, mode: 'truncate', offset: length, sizeBefore: size })
      continue
    }
    const offset = rng.int(size)
    const bit = rng.int(8)
    const fd = openSync(file, 'r+')
    try {
      const b = Buffer.alloc(1)
      readSync(fd, b, 0, 1, offset)
      b[0] ^= 1 << bit
      writeSync(fd, b, 0, 1, offset)
    } finally {
      closeSync(fd)
    }
    done.push({ node, file: rel, mode: 'bitflip', offset, bit, sizeBefore: size })
  }
  return done
}

function storeDirOf(ctx: FaultContext, node: NodeInfo): string {
  const dir = ctx.env.nodes.storeDir?.(node)
  if (!dir)
    throw new TargetError(`nats.corrupt-store needs the nodes' store directories, which the ${ctx.env.kind} environment does not expose (only local does)`)
  return dir
}

export const natsCorruptStore = defineFault<P, State>({
  type: 'nats.corrupt-store',
  description: 'kill NATS nodes, flip bits in or truncate their JetStream store files (blocks, indexes), start them again; a minority of the cluster at most',
  targets: ['node'],
  params: Params,
  async resolve(ctx, spec) {
    if (!ctx.env.nodes.storeDir) {
      throw new TargetError(`nats.corrupt-store needs the nodes' store directories, which the ${ctx.env.kind} environment does not expose (only local does)`)
    }
    const nodes = await resolveNodes(ctx, spec.target)
    const size = ctx.env.topology().clusters[nodes[0].cluster].nodes.length
    const minority = Math.floor((size - 1) / 2)
    if (nodes.length > minority) {
      throw new BlastRadiusError(
        `nats.corrupt-store refuses to corrupt ${nodes.length} of the ${size} nodes of cluster ${nodes[0].cluster}: at most a minority (${minority}) — a corrupted majority loses data by design`,
      )
    }
    return nodeTargets(nodes, spec.target)
  },
  describe: (_ctx, spec, targets) =>
    targets.map(
      (t) =>
        `${spec.params.graceful ? 'stop' : 'kill'} NATS node ${t.id}, ${spec.params.mode} ${spec.params.count} of its ${spec.params.files === 'all' ? 'store files' : spec.params.files === 'blocks' ? 'message blocks' : 'index files'}${spec.params.stream ? ` of stream ${spec.params.stream}` : ''}, start it`,
    ),
  stateFromTargets: (targets) => ({ cluster: String(targets[0]?.cluster ?? ''), nodes: targets.map((t) => t.id), corrupted: [] }),
  async inject(ctx, spec, targets) {
    const cluster = String(targets[0]?.cluster ?? '')
    const nodes = targetNodes(ctx, targets)
    const state: State = { cluster, nodes: nodes.map((n) => n.name), corrupted: [] }
    ctx.checkpoint(state)
    for (const node of nodes) {
      const dir = storeDirOf(ctx, node)
      await (spec.params.graceful ? ctx.env.nodes.stop(node) : ctx.env.nodes.kill(node))
      if (!existsSync(dir)) throw new TargetError(`node ${node.name} has no store directory at ${dir}`)
      const done = corruptStore(node.name, dir, spec.params, ctx.rng)
      state.corrupted.push(...done)
      ctx.checkpoint(state)
      ctx.evidence('store-corrupted', { node: node.name, corrupted: done as unknown as Json })
      ctx.log.info(
        `    ${node.name}: ${done.length ? done.map((c) => `${c.mode} ${c.file}@${c.offset}${c.bit !== undefined ? `.${c.bit}` : ''}`).join(', ') : 'no matching store file'}`,
      )
      await ctx.env.nodes.start(node)
    }
    if (state.corrupted.length === 0) {
      throw new TargetError(
        `nats.corrupt-store found no ${spec.params.files === 'all' ? 'store' : spec.params.files === 'blocks' ? 'message block' : 'index'} file${spec.params.stream ? ` of stream ${spec.params.stream}` : ''} on ${state.nodes.join(', ')}: nothing was corrupted (the nodes were restarted)`,
      )
    }
    return state
  },
  async revert(ctx, _spec, state) {
    // the bytes cannot be put back; make sure every node runs again
    for (const node of nodesFromTargets(ctx, state?.nodes ?? [], state?.cluster || undefined)) {
      if (!(await ctx.env.nodes.isRunning(node))) await ctx.env.nodes.start(node)
    }
  },
})
