/**
 * Finding a containers environment: nothing is kept on the host — every container and the
 * network carry gameday.env=<id>, and their published host ports are labels too — so any
 * process can find one by its id, also after the process that ran `up()` crashed. Shared by the
 * environment's parts.
 */
import { execFileSync } from 'node:child_process'
import type Dockerode from 'dockerode'
import type { ContainerInfo } from 'dockerode'
import { GamedayError } from '../../api/errors.ts'
import { dockerClient, LABEL, listContainers } from './docker.ts'
import { containerName } from './protocol.ts'

/** What the labels of the environment's containers say: enough for every endpoint. */
export interface Discovery {
  nodes: Record<string, { container: string; cluster: string; az: string; clientPort: number; monitorPort: number; clusterPort?: number; state: string }>
  caches: Record<string, { container: string; port: number; state: string }>
  /** Redis Clusters' nodes, by cache and node name */
  clusterNodes: Record<string, Record<string, { container: string; az: string; port: number; state: string }>>
  controller?: { container: string; controlPort: number; lbPorts: Record<string, number>; proxyUrl?: string; state: string }
  tasks: { container: string; service: string; id: string; az: string; state: string }[]
}

const EMPTY: Discovery = { nodes: {}, caches: {}, clusterNodes: {}, tasks: [] }

export function discoveryFrom(containers: { name: string; state: string; labels: Record<string, string> }[]): Discovery {
  const d: Discovery = { nodes: {}, caches: {}, clusterNodes: {}, tasks: [] }
  for (const c of containers) {
    const l = c.labels
    switch (l[LABEL.role]) {
      case 'nats':
        d.nodes[l[LABEL.node]] = {
          container: c.name,
          cluster: l[LABEL.cluster],
          az: l[LABEL.az],
          clientPort: Number(l[LABEL.portClient]),
          monitorPort: Number(l[LABEL.portMonitor]),
          ...(l[LABEL.portCluster] ? { clusterPort: Number(l[LABEL.portCluster]) } : {}),
          state: c.state,
        }
        break
      case 'redis-node':
        ;(d.clusterNodes[l[LABEL.cache]] ??= {})[l[LABEL.node]] = { container: c.name, az: l[LABEL.az], port: Number(l[LABEL.portRedis]), state: c.state }
        break
      case 'redis':
        d.caches[l[LABEL.cache]] = { container: c.name, port: Number(l[LABEL.portRedis]), state: c.state }
        break
      case 'controller': {
        const lbPorts: Record<string, number> = {}
        for (const [k, v] of Object.entries(l)) if (k.startsWith(LABEL.portLbPrefix)) lbPorts[k.slice(LABEL.portLbPrefix.length)] = Number(v)
        d.controller = { container: c.name, controlPort: Number(l[LABEL.portControl]), lbPorts, proxyUrl: l[LABEL.proxyUrl], state: c.state }
        break
      }
      case 'task':
        d.tasks.push({ container: c.name, service: l[LABEL.service], id: l[LABEL.task], az: l[LABEL.az], state: c.state })
        break
    }
  }
  return d
}

export const nameOf = (c: ContainerInfo) => c.Names?.[0]?.replace(/^\//, '') ?? c.Id

/** One environment's containers, by its id: the Docker client, names, and what the labels say. */
export class EnvironmentContainers {
  readonly networkName: string
  private found: Discovery | undefined
  private client: Promise<{ docker: Dockerode; socketPath: string }> | undefined

  /** `upCommand`: what brings this environment up, for the "not up" messages */
  constructor(
    readonly envId: string,
    readonly upCommand = 'gameday env up --env containers',
  ) {
    if (!/^[a-z0-9][a-z0-9-]{0,40}$/.test(envId)) throw new GamedayError(`invalid containers environment id ${JSON.stringify(envId)} (a-z, 0-9, -)`)
    this.networkName = containerName(envId, 'net')
  }

  async dockerClient(): Promise<{ docker: Dockerode; socketPath: string }> {
    this.client ??= dockerClient().catch((err) => {
      this.client = undefined
      throw new GamedayError(`the containers environment needs a Docker engine: ${(err as Error).message} (on Debian as root: scripts/ensure-docker.sh)`)
    })
    return this.client
  }

  async docker(): Promise<Dockerode> {
    return (await this.dockerClient()).docker
  }

  /** gameday-<id>-<short>: n1, cache, controller, gateway-3 */
  name(short: string): string {
    return containerName(this.envId, short)
  }

  /** Reads the environment's containers by label (and remembers them for the synchronous endpoints). */
  async discover(): Promise<Discovery> {
    const containers = await listContainers(await this.docker(), { [LABEL.env]: this.envId })
    this.found = discoveryFrom(containers.map((c) => ({ name: nameOf(c), state: c.State, labels: c.Labels ?? {} })))
    return this.found
  }

  forget(): void {
    this.found = undefined
  }

  /** Endpoints are synchronous: a process that did not discover yet asks the docker CLI once. */
  discovered(): Discovery {
    if (this.found && Object.keys(this.found.nodes).length) return this.found
    try {
      const out = execFileSync(
        'docker',
        ['ps', '-a', '--no-trunc', '--filter', `label=${LABEL.env}=${this.envId}`, '--format', '{{.Names}}\t{{.State}}\t{{.Labels}}'],
        { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] },
      )
      const rows = out
        .split('\n')
        .filter(Boolean)
        .map((line) => {
          const [name, state, labels] = line.split('\t')
          return {
            name,
            state,
            labels: Object.fromEntries((labels ?? '').split(',').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)])),
          }
        })
      this.found = discoveryFrom(rows)
    } catch {
      this.found = EMPTY
    }
    if (!Object.keys(this.found.nodes).length) throw new GamedayError(`the containers environment ${this.envId} is not up: run \`${this.upCommand}\``)
    return this.found
  }
}
