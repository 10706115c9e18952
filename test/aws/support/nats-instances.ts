/**
 * Real nats-servers standing in for the fake account's EC2 instances: one per node, each on
 * its own loopback address (127.0.0.11, .12, …) so that every node has the same client and
 * monitoring ports, as instances in a VPC do. The account's hooks make EC2 real for them: a
 * stopped instance's server is killed (SIGKILL for Force, SIGTERM otherwise), a started one is
 * spawned again on its store, and an AZ cut off by FIS is unreachable until the experiment ends:
 * its servers are killed, and started again on their stores when it ends. (Freezing them with
 * SIGSTOP would be the closer picture, but nats-server 2.9.10 keeps a route to a silent peer
 * it is still writing to — nats-server#4014, fixed in 2.9.16 — so the cut would never show in
 * /routez; a dead peer shows at once.)
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { natsServerConfig } from '../../../src/environments/nats-config.ts'
import { waitFor } from '../../../src/util/abort.ts'
import { canConnect, freePorts } from '../../../src/util/ports.ts'
import type { AccountHooks, FakeAccount, Instance } from './fake-aws/account.ts'

export interface NatsNode {
  node: string
  /** logical AZ (az-a) and the fake's AWS AZ (eu-west-1a) */
  az: string
  realAz: string
  ip: string
}

export class NatsInstances {
  private readonly procs = new Map<string, ChildProcess>()

  private constructor(
    readonly nodes: NatsNode[],
    readonly clientPort: number,
    readonly monitorPort: number,
    private readonly routePort: number,
    private readonly dir: string,
  ) {}

  /** n1 in az-a, n2 in az-b, n3 in az-c, every one serving. */
  static async start(): Promise<NatsInstances> {
    const nodes = ['a', 'b', 'c'].map((z, i) => ({ node: `n${i + 1}`, az: `az-${z}`, realAz: `eu-west-1${z}`, ip: `127.0.0.${11 + i}` }))
    const [client, monitor, route] = await freePorts(3)
    const nats = new NatsInstances(nodes, client, monitor, route, mkdtempSync(join(tmpdir(), 'gameday-nats-instances-')))
    try {
      await Promise.all(nodes.map((n) => nats.serve(n.node)))
    } catch (err) {
      await nats.stop()
      throw err
    }
    return nats
  }

  /** The fake account's nodes: same names, AZs and addresses. */
  accountNodes(): { node: string; az: string; ip: string }[] {
    return this.nodes.map((n) => ({ node: n.node, az: n.realAz, ip: n.ip }))
  }

  private spec(node: string): NatsNode {
    const n = this.nodes.find((x) => x.node === node)
    if (!n) throw new Error(`no node ${node}`)
    return n
  }

  async serve(node: string): Promise<void> {
    const n = this.spec(node)
    if (this.running(node)) return
    const store = join(this.dir, node)
    mkdirSync(store, { recursive: true })
    const conf = join(store, 'nats.conf')
    writeFileSync(
      conf,
      natsServerConfig({
        name: n.node,
        az: n.az,
        cluster: 'core',
        clientListen: `${n.ip}:${this.clientPort}`,
        httpListen: `${n.ip}:${this.monitorPort}`,
        clusterListen: `${n.ip}:${this.routePort}`,
        routes: this.nodes.filter((x) => x !== n).map((x) => `nats-route://${x.ip}:${this.routePort}`),
        storeDir: join(store, 'js'),
        maxMemoryStore: '32MB',
        maxFileStore: '128MB',
      }),
    )
    const child = spawn('nats-server', ['-c', conf], { stdio: 'ignore' })
    this.procs.set(node, child)
    await waitFor(`${node} to serve on ${n.ip}:${this.clientPort}`, () => canConnect(this.clientPort, n.ip, 500), { timeoutMs: 15_000, intervalMs: 50 })
  }

  running(node: string): boolean {
    const p = this.procs.get(node)
    return !!p && p.exitCode === null && p.signalCode === null
  }

  /** Every server running. */
  allServing(): boolean {
    return this.nodes.every((n) => this.running(n.node))
  }

  async kill(node: string, signal: NodeJS.Signals): Promise<void> {
    const p = this.procs.get(node)
    if (!p || !this.running(node)) return
    const exited = new Promise((resolve) => p.once('exit', resolve))
    p.kill(signal)
    await exited
  }

  /** What the fake account does to these servers when EC2 or FIS acts. */
  hooks(account: FakeAccount): AccountHooks {
    const nodeOf = (i: Instance) => this.nodes.find((n) => n.ip === i.ip)?.node
    const azsCut = (e: { actions: Record<string, { actionId: string }>; targets: Record<string, { resourceArns?: string[] }> }) => {
      if (!Object.values(e.actions).some((a) => a.actionId === 'aws:network:disrupt-connectivity')) return []
      const subnets = Object.values(e.targets).flatMap((t) => t.resourceArns ?? [])
      return account.subnets.filter((s) => subnets.some((arn) => arn.endsWith(`/${s.id}`))).map((s) => s.az)
    }
    return {
      stopped: async (i, force) => {
        const node = nodeOf(i)
        if (node) await this.kill(node, force ? 'SIGKILL' : 'SIGTERM')
      },
      starting: async (i) => {
        const node = nodeOf(i)
        if (node) await this.serve(node)
      },
      acting: async (e, on) => {
        const cut = this.nodes.filter((x) => azsCut(e).includes(x.realAz))
        await Promise.all(cut.map((n) => (on ? this.kill(n.node, 'SIGKILL') : this.serve(n.node))))
      },
    }
  }

  /** Back to every server running (between tests). */
  async restore(): Promise<void> {
    await Promise.all(this.nodes.map((n) => this.serve(n.node)))
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => this.kill(n.node, 'SIGKILL')))
    rmSync(this.dir, { recursive: true, force: true })
  }
}
