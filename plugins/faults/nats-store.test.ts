import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connect } from '@nats-io/transport-node'
import { jetstream, jetstreamManager } from '@nats-io/jetstream'
import { corruptStore, natsCorruptStore, storeFiles } from './nats-store.ts'
import { BlastRadiusError, TargetError } from '../../src/api/errors.ts'
import type { Environment, NodeInfo } from '../../src/api/environment.ts'
import { createRng } from '../../src/util/rng.ts'
import { MemoryEnvironment } from '../../test/support/memory-environment.ts'
import { faultContext, singleNodeEnv, startMonitoredNats, type MonitoredNats } from '../../test/correctness/support.ts'

/** A fake JetStream store tree: two streams, blocks and indexes, and raft state. */
function fakeStore(): string {
  const dir = mkdtempSync(join(tmpdir(), 'gameday-store-'))
  const files: Record<string, number> = {
    'jetstream/$G/streams/ORDERS/msgs/1.blk': 4096,
    'jetstream/$G/streams/ORDERS/msgs/1.idx': 64,
    'jetstream/$G/streams/ORDERS/msgs/2.blk': 2048,
    'jetstream/$G/streams/ORDERS/msgs/2.fss': 32,
    'jetstream/$G/streams/ORDERS/meta.inf': 200,
    'jetstream/$G/streams/OTHER/msgs/1.blk': 1024,
    'jetstream/$SYS/_js_/S-R3F-abc/msgs/1.blk': 512,
    'jetstream/$SYS/_js_/S-R3F-abc/peers.idx': 40,
    'jetstream/$G/streams/ORDERS/msgs/3.blk': 0,
  }
  for (const [rel, size] of Object.entries(files)) {
    mkdirSync(join(dir, rel, '..'), { recursive: true })
    writeFileSync(join(dir, rel), Buffer.alloc(size, 0xaa))
  }
  return dir
}

describe('nats.corrupt-store: picking and corrupting files', () => {
  let dir: string
  beforeAll(() => {
    dir = fakeStore()
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('selects blocks, indexes or everything, optionally of one stream, sorted', () => {
    const rel = (files: string[]) => files.map((f) => f.slice(dir.length + 1))
    expect(rel(storeFiles(dir, 'blocks'))).toEqual([
      'jetstream/$G/streams/ORDERS/msgs/1.blk',
      'jetstream/$G/streams/ORDERS/msgs/2.blk',
      'jetstream/$G/streams/ORDERS/msgs/3.blk',
      'jetstream/$G/streams/OTHER/msgs/1.blk',
      'jetstream/$SYS/_js_/S-R3F-abc/msgs/1.blk',
    ])
    expect(rel(storeFiles(dir, 'indexes', 'ORDERS'))).toEqual(['jetstream/$G/streams/ORDERS/msgs/1.idx', 'jetstream/$G/streams/ORDERS/msgs/2.fss'])
    expect(storeFiles(dir, 'all')).toHaveLength(9)
    expect(storeFiles(dir, 'all', 'NOPE')).toEqual([])
  })

  it('a bit flip changes exactly one bit; the same seed picks the same files, offsets and bits', () => {
    const a = fakeStore()
    const b = fakeStore()
    try {
      const ca = corruptStore('n1', a, { mode: 'bitflip', files: 'blocks', count: 5, stream: 'ORDERS' }, createRng(99))
      const cb = corruptStore('n1', b, { mode: 'bitflip', files: 'blocks', count: 5, stream: 'ORDERS' }, createRng(99))
      expect(ca).toEqual(cb)
      expect(ca).toHaveLength(5)
      for (const c of ca) {
        expect(c.file).toMatch(/ORDERS\/msgs\/[12]\.blk$/) // never the empty block
        expect(c.offset).toBeLessThan(c.sizeBefore)
      }
      // count the flipped bits (two flips of the same bit cancel out)
      let flipped = 0
      for (const f of ['1.blk', '2.blk']) {
        for (const byte of readFileSync(join(a, 'jetstream/$G/streams/ORDERS/msgs', f))) {
          let x = byte ^ 0xaa
          while (x) {
            flipped += x & 1
            x >>= 1
          }
        }
      }
      const times = new Map<string, number>()
      for (const c of ca) times.set(`${c.file}:${c.offset}:${c.bit}`, (times.get(`${c.file}:${c.offset}:${c.bit}`) ?? 0) + 1)
      expect(flipped).toBe([...times.values()].filter((n) => n % 2 === 1).length)
      expect(flipped).toBeGreaterThan(0)
    } finally {
      rmSync(a, { recursive: true, force: true })
      rmSync(b, { recursive: true, force: true })
    }
  })

  it('truncation cuts a file to a shorter length', () => {
    const d = fakeStore()
    try {
      const [c] = corruptStore('n1', d, { mode: 'truncate', files: 'indexes', count: 1 }, createRng(1))
      expect(statSync(join(d, c.file)).size).toBe(c.offset)
      expect(c.offset).toBeLessThan(c.sizeBefore)
    } finally {
      rmSync(d, { recursive: true, force: true })
    }
  })
})

/** The five-node memory environment, with a store directory per node. */
class StoreEnvironment extends MemoryEnvironment {
  readonly dirs: Record<string, string> = {}
  constructor() {
    super()
    for (const n of this.topology().clusters.core.nodes) this.dirs[n.name] = fakeStore()
    ;(this.nodes as Environment['nodes']).storeDir = (n: NodeInfo) => this.dirs[n.name]
  }
  cleanup() {
    for (const d of Object.values(this.dirs)) rmSync(d, { recursive: true, force: true })
  }
}

describe('nats.corrupt-store: guardrails and the fault cycle', () => {
  const spec = (target: Record<string, unknown>, params: Record<string, unknown> = {}) => ({
    type: 'nats.corrupt-store',
    target,
    params: natsCorruptStore.params.parse(params),
  })

  it('refuses more than a minority of the cluster (2 of 5)', async () => {
    const env = new StoreEnvironment()
    try {
      const ctx = faultContext(env)
      await expect(natsCorruptStore.resolve(ctx, spec({ cluster: 'core', count: 3 }))).rejects.toThrow(BlastRadiusError)
      await expect(natsCorruptStore.resolve(ctx, spec({ cluster: 'core', az: 'az-a' }))).resolves.toHaveLength(2)
      await expect(natsCorruptStore.resolve(ctx, spec({ cluster: 'core' }))).rejects.toThrow(/at most a minority \(2\)/)
    } finally {
      env.cleanup()
    }
  })

  it('fails clearly where store directories are out of reach', async () => {
    const ctx = faultContext(new MemoryEnvironment())
    await expect(natsCorruptStore.resolve(ctx, spec({ cluster: 'core', count: 1 }))).rejects.toThrow(TargetError)
    await expect(natsCorruptStore.resolve(ctx, spec({ cluster: 'core', count: 1 }))).rejects.toThrow(/store directories/)
  })

  it('kills, corrupts (checkpointing what it did), restarts; revert starts a node left down', async () => {
    const env = new StoreEnvironment()
    try {
      const ctx = faultContext(env, 5)
      const s = spec({ cluster: 'core', nodes: ['n3'] }, { mode: 'truncate', files: 'blocks', count: 2, stream: 'ORDERS' })
      const targets = await natsCorruptStore.resolve(ctx, s)
      expect(natsCorruptStore.describe(ctx, s, targets)).toEqual(['kill NATS node n3, truncate 2 of its message blocks of stream ORDERS, start it'])
      const state = await natsCorruptStore.inject(ctx, s, targets)
      expect(env.events).toEqual(['kill n3', 'start n3'])
      expect(state.corrupted).toHaveLength(2)
      expect(state.corrupted.every((c) => c.node === 'n3' && c.file.includes('ORDERS'))).toBe(true)
      expect(ctx.checkpoints.at(-1)).toEqual(state)
      expect(ctx.evidences[0]).toMatchObject({ kind: 'store-corrupted', data: { node: 'n3' } })
      await env.nodes.kill({ cluster: 'core', name: 'n3', az: 'az-b' })
      await natsCorruptStore.revert(ctx, s, state)
      expect(env.events.at(-1)).toBe('start n3')
    } finally {
      env.cleanup()
    }
  })

  it('errors (after restarting the node) when no file matches: a fault that did nothing must not pass silently', async () => {
    const env = new StoreEnvironment()
    try {
      const ctx = faultContext(env)
      const s = spec({ cluster: 'core', nodes: ['n1'] }, { stream: 'MISSING' })
      await expect(natsCorruptStore.inject(ctx, s, await natsCorruptStore.resolve(ctx, s))).rejects.toThrow(/nothing was corrupted/)
      expect(env.events).toEqual(['kill n1', 'start n1'])
    } finally {
      env.cleanup()
    }
  })
})

describe('nats.corrupt-store on a real nats-server', () => {
  let nats: MonitoredNats
  beforeAll(async () => {
    nats = await startMonitoredNats()
  })
  afterAll(async () => {
    await nats?.stop()
  })

  it('truncating the message block of a single-replica stream loses its messages once the server restarts', async () => {
    // n1 is real; the topology claims two more nodes so that one node is a minority
    const base = singleNodeEnv(nats)
    const topo = base.topology()
    const env: Environment = {
      ...base,
      topology: () => ({
        ...topo,
        clusters: {
          core: {
            name: 'core',
            nodes: [...topo.clusters.core.nodes, { cluster: 'core', name: 'n2', az: 'az-b' }, { cluster: 'core', name: 'n3', az: 'az-c' }],
          },
        },
      }),
    }
    let nc = await connect({ servers: nats.url })
    const jsm = await jetstreamManager(nc)
    await jsm.streams.add({ name: 'CORRUPT', subjects: ['corrupt.>'], num_replicas: 1 })
    const js = jetstream(nc)
    for (let i = 0; i < 200; i++) await js.publish('corrupt.x', `message ${i} `.repeat(20))
    await nc.close()

    const ctx = faultContext(env, 3)
    const s = {
      type: 'nats.corrupt-store',
      target: { cluster: 'core', nodes: ['n1'] },
      params: natsCorruptStore.params.parse({ mode: 'truncate', files: 'blocks', stream: 'CORRUPT' }),
    }
    const state = await natsCorruptStore.inject(ctx, s, await natsCorruptStore.resolve(ctx, s))
    expect(state.corrupted).toHaveLength(1)
    expect(nats.running()).toBe(true)

    nc = await connect({ servers: nats.url })
    try {
      const info = await (await jetstreamManager(nc)).streams.info('CORRUPT')
      // a single copy has nothing to repair from: what the truncation cut is gone
      expect(info.state.messages).toBeLessThan(200)
    } finally {
      await nc.close()
    }
  })
})
