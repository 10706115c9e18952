/**
 * The environments' side of the fault proxy, shared by the local environment (the proxy in its
 * supervisor, every internal path through it) and the containers environment (the proxy in its
 * controller, the services' Redis links through it): proxies populated from a list of links,
 * and a cache link degraded with toxics through the Toxiproxy API (toxiproxy-node-client) — our
 * embedded FaultProxy, or a real Toxiproxy at TOXIPROXY_URL.
 *
 * A cache link is one proxy per (service, cache): the service's tasks get it as REDIS_URL, so a
 * throttle slows exactly the services named. Revert states list the exact toxics and proxies
 * touched, so a restore after a crash removes just those, and removing one already gone is fine.
 */
import { Toxiproxy } from 'toxiproxy-node-client'
import type { CacheDegradation, ControlContext, NetworkControl, Topology } from '../api/environment.ts'
import type { Json } from '../api/fault.ts'
import { TargetError } from '../api/errors.ts'

/** What the cache part needs of a link: its proxy's name, and for a cache link its service and cache. */
export interface ProxiedLink {
  name: string
  kind: string
  /** cache: the service */
  from: string
  /** cache: the cache */
  to: string
}

export const cacheLink = (service: string, cache: string) => `cache-${service}-${cache}`

/** A proxy to create: listen and upstream as host:port. */
export interface ProxyDefinition {
  name: string
  listen: string
  upstream: string
  enabled: boolean
}

export interface ToxicRef {
  proxy: string
  toxic: string
}

/** What a fault touched on the proxy: its toxics, and the proxies it disabled. */
export interface ProxyRevert {
  toxics: ToxicRef[]
  disabled: string[]
}

export const toxicName = (kind: string, runId: string, stream: string) => `gameday-${kind}-${runId}-${stream}`.slice(0, 120)

/** Creates every proxy (populate is idempotent for proxies that exist alike), then disables those meant to start disabled. */
export async function populateProxies(url: string, proxies: ProxyDefinition[]): Promise<void> {
  const client = new Toxiproxy(url)
  await client.populate(proxies.map((p) => ({ name: p.name, listen: p.listen, upstream: p.upstream, enabled: p.enabled })) as never)
  for (const p of proxies.filter((x) => !x.enabled)) await (await client.get(p.name)).update({ enabled: false } as never)
}

/** Removes the toxics and re-enables the proxies a fault recorded; what is already gone is not an error. */
export async function undoProxyFaults(url: string, state: ProxyRevert | null): Promise<void> {
  const client = new Toxiproxy(url)
  for (const ref of state?.toxics ?? []) {
    try {
      const proxy = await client.get(ref.proxy)
      await (await proxy.getToxic(ref.toxic)).remove()
    } catch (err) {
      if (!/not found|404/i.test((err as Error).message)) throw err // already gone: idempotent
    }
  }
  for (const name of state?.disabled ?? []) await (await client.get(name)).update({ enabled: true } as never)
}

/**
 * Cache degradation as toxics on the cache links: latency (half each way, so a round trip pays
 * it), bandwidth, or the proxy disabled (connections refused, open ones closed).
 */
export class CacheLinks implements Pick<NetworkControl, 'degradeCache' | 'restoreCache' | 'describeCacheDegradation'> {
  constructor(
    /** the proxy's admin URL, asked only when a fault acts (a plan needs no running proxy) */
    private readonly proxyUrl: () => string,
    private readonly links: () => ProxiedLink[],
    private readonly topology: () => Topology,
  ) {}

  private linksFor(spec: CacheDegradation): ProxiedLink[] {
    const caches = this.topology().caches
    if (!caches[spec.cache]) throw new TargetError(`no cache "${spec.cache}" (has: ${Object.keys(caches).join(', ')})`)
    const links = this.links().filter((l) => l.kind === 'cache' && l.to === spec.cache && (!spec.services || spec.services.includes(l.from)))
    if (!links.length) throw new TargetError(`no service${spec.services ? ` of ${spec.services.join(', ')}` : ''} uses cache ${spec.cache}`)
    return links
  }

  describeCacheDegradation(spec: CacheDegradation): string[] {
    const what = spec.down
      ? 'refuse connections (proxy disabled)'
      : [
          spec.latencyMs !== undefined ? `latency ${spec.latencyMs}ms±${spec.jitterMs ?? 0}` : '',
          spec.rateKBps !== undefined ? `bandwidth ${spec.rateKBps}KB/s` : '',
        ]
          .filter(Boolean)
          .join(', ')
    return this.linksFor(spec).map((l) => `${l.name}: ${what}`)
  }

  async degradeCache(spec: CacheDegradation, ctx: ControlContext): Promise<Json> {
    const links = this.linksFor(spec)
    const client = new Toxiproxy(this.proxyUrl())
    const revert: ProxyRevert = { toxics: [], disabled: [] }
    for (const link of links) {
      const proxy = await client.get(link.name)
      if (spec.down) {
        await proxy.update({ enabled: false } as never)
        revert.disabled.push(link.name)
        continue
      }
      for (const stream of ['downstream', 'upstream'] as const) {
        if (spec.latencyMs !== undefined) {
          // half the delay each way: a round trip pays latencyMs, as a request to a slow cache would
          const name = toxicName('latency', ctx.runId, stream)
          await proxy.addToxic({
            name,
            type: 'latency',
            stream,
            toxicity: 1,
            attributes: { latency: Math.round(spec.latencyMs / 2), jitter: Math.round((spec.jitterMs ?? 0) / 2) },
          } as never)
          revert.toxics.push({ proxy: link.name, toxic: name })
        }
        if (spec.rateKBps !== undefined) {
          const name = toxicName('bandwidth', ctx.runId, stream)
          await proxy.addToxic({ name, type: 'bandwidth', stream, toxicity: 1, attributes: { rate: spec.rateKBps } } as never)
          revert.toxics.push({ proxy: link.name, toxic: name })
        }
      }
    }
    return revert as unknown as Json
  }

  async restoreCache(state: Json, _ctx: ControlContext): Promise<void> {
    await undoProxyFaults(this.proxyUrl(), state as unknown as ProxyRevert | null)
  }
}
