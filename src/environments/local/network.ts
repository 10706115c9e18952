/**
 * Network faults of the local environment, as toxics on the fault proxy through its Toxiproxy
 * API (toxiproxy-node-client): our embedded proxy by default, a real Toxiproxy with
 * TOXIPROXY_URL. Revert states list the exact toxics and proxies touched, so a heal after a
 * crash removes just those. The cache links' part is ../fault-proxy.ts, shared with the
 * containers environment.
 */
import { Toxiproxy } from 'toxiproxy-node-client'
import type { CacheDegradation, ControlContext, NetworkControl, PartitionSpec, Topology } from '../../api/environment.ts'
import type { Json } from '../../api/fault.ts'
import { TargetError } from '../../api/errors.ts'
import { CacheLinks, toxicName, undoProxyFaults, type ProxyRevert } from '../fault-proxy.ts'
import { linksAcross, type Link } from './links.ts'
import type { LocalState } from './state.ts'

export class LocalNetwork implements NetworkControl {
  constructor(
    private readonly state: () => LocalState,
    private readonly topology: () => Topology,
  ) {}

  private client(): Toxiproxy {
    return new Toxiproxy(this.state().proxy.url)
  }

  private partitionCut(spec: PartitionSpec): { link: Link; streams: ('upstream' | 'downstream')[] }[] {
    const nodes = this.topology().clusters[spec.cluster]?.nodes ?? []
    const sideOfNode = new Map<string, number>()
    spec.groups.forEach((g, i) => g.forEach((n) => sideOfNode.set(n, i)))
    for (const n of nodes) if (!sideOfNode.has(n.name)) throw new TargetError(`node ${n.name} is in no group of the partition`)
    // an AZ is on the side of its nodes; clients of an AZ split over both sides keep their paths
    const sideOfAz = new Map<string, number | undefined>()
    for (const n of nodes) {
      const side = sideOfNode.get(n.name)
      sideOfAz.set(n.az, sideOfAz.has(n.az) && sideOfAz.get(n.az) !== side ? undefined : side)
    }
    const links = this.state().links.filter((l) => l.kind === 'client' || nodes.some((n) => n.name === l.from))
    return linksAcross(links, (x, kind) => (kind === 'node' ? sideOfNode.get(x) : sideOfAz.get(x)), spec.oneWay ?? false)
  }

  describePartition(spec: PartitionSpec): string[] {
    const cut = this.partitionCut(spec)
    return [
      `cut ${spec.groups.map((g) => `[${g.join(',')}]`).join(' | ')}${spec.oneWay ? ' one way (first group → others)' : ''}: timeout toxics (hold) on ${cut.length} proxied paths`,
      ...cut.slice(0, 6).map((c) => `  ${c.link.name} ${c.streams.join('+')}`),
      ...(cut.length > 6 ? [`  … and ${cut.length - 6} more`] : []),
    ]
  }

  /**
   * A partition drops packets rather than refusing connections: a `timeout` toxic with timeout 0
   * and `hold` keeps connections open and silent, so peers notice only through missed pings —
   * as on a real network — and held bytes flow again on heal, as TCP retransmission would.
   */
  async partition(spec: PartitionSpec, ctx: ControlContext): Promise<Json> {
    const cut = this.partitionCut(spec)
    const client = this.client()
    const revert: ProxyRevert = { toxics: [], disabled: [] }
    for (const { link, streams } of cut) {
      const proxy = await client.get(link.name)
      for (const stream of streams) {
        const name = toxicName('partition', ctx.runId, stream)
        await proxy.addToxic({ name, type: 'timeout', stream, toxicity: 1, attributes: { timeout: 0, hold: true } } as never)
        revert.toxics.push({ proxy: link.name, toxic: name })
      }
    }
    return revert as unknown as Json
  }

  /** disable and re-enable each cut proxy: its open connections close; new ones meet the held cut */
  async severConnections(state: Json, _ctx: ControlContext): Promise<void> {
    const client = this.client()
    const proxies = [...new Set(((state as unknown as ProxyRevert | null)?.toxics ?? []).map((t) => t.proxy))]
    for (const name of proxies) {
      const proxy = await client.get(name)
      await proxy.update({ enabled: false } as never)
      await proxy.update({ enabled: true } as never)
    }
  }

  async heal(state: Json, _ctx: ControlContext): Promise<void> {
    await undoProxyFaults(this.state().proxy.url, state as unknown as ProxyRevert | null)
  }

  // the services' Redis links: shared with the containers environment
  private readonly caches = new CacheLinks(
    () => this.state().proxy.url,
    () => this.state().links,
    () => this.topology(),
  )

  describeCacheDegradation(spec: CacheDegradation): string[] {
    return this.caches.describeCacheDegradation(spec)
  }

  degradeCache(spec: CacheDegradation, ctx: ControlContext): Promise<Json> {
    return this.caches.degradeCache(spec, ctx)
  }

  restoreCache(state: Json, ctx: ControlContext): Promise<void> {
    return this.caches.restoreCache(state, ctx)
  }
}
