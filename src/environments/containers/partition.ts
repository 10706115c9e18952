/**
 * Network partitions on the containers environment: packets between the sides are dropped
 * (iptables DROP in each member container's own network namespace, entered from the host with
 * nsenter), so a cut looks like a real one — no reset, no refusal: peers time out (NATS notices
 * a dead route after ping_interval × ping_max) and reconnect once it heals.
 *
 * The rules live in two chains of our own (GAMEDAY-IN, GAMEDAY-OUT) hooked first into INPUT and
 * OUTPUT, so heal removes exactly what partition added. A container restarted during a cut
 * comes back in a fresh namespace, without the rules — as a replaced instance would.
 */
import { execFile } from 'node:child_process'
import type Dockerode from 'dockerode'
import type { PartitionSpec } from '../../api/environment.ts'
import { GamedayError } from '../../api/errors.ts'
import { ignoreGone } from './docker.ts'

const IN = 'GAMEDAY-IN'
const OUT = 'GAMEDAY-OUT'

/** A container on one side of a cut. */
export interface Member {
  /** container name */
  container: string
  /** what it is, for messages: n3, gateway-2, cache */
  label: string
  group: number
}

export interface PartitionState {
  network: string
  /** every container that got DROP rules */
  containers: string[]
  /** container → the addresses on the other side of the cut (what `sever` aborts connections to) */
  across: Record<string, string[]>
}

function run(cmd: string, args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { timeout: 15_000 }, (err, stdout, stderr) => {
      // a number: the exit status; a string (ENOENT…): it could not run at all
      const code = !err ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 127
      resolve({ code, stdout, stderr: stderr || (err ? err.message : '') })
    })
    if (input !== undefined) child.stdin!.end(input)
  })
}

export function checkCanPartition(): void {
  if (process.platform !== 'linux')
    throw new GamedayError("partitions on the containers environment need a Linux Docker host (iptables in the containers' network namespaces)")
  if (process.getuid?.() !== 0)
    throw new GamedayError(
      "partitions on the containers environment need root: they enter the containers' network namespaces (nsenter) to add iptables DROP rules",
    )
}

async function netns(docker: Dockerode, container: string, network: string): Promise<{ pid: number; ip: string } | undefined> {
  const info = await ignoreGone(docker.getContainer(container).inspect())
  if (!info || !info.State.Running || !info.State.Pid) return undefined
  const ip = info.NetworkSettings.Networks?.[network]?.IPAddress
  return ip ? { pid: info.State.Pid, ip } : undefined
}

async function iptables(pid: number, args: string[]) {
  return run('nsenter', ['-t', String(pid), '-n', 'iptables', '-w', '5', ...args])
}

async function removeRules(pid: number): Promise<void> {
  for (const [hook, chain] of [
    ['INPUT', IN],
    ['OUTPUT', OUT],
  ] as const) {
    // every jump we added (a repeated partition adds none twice, but be thorough)
    for (let i = 0; i < 10; i++) if ((await iptables(pid, ['-D', hook, '-j', chain])).code !== 0) break
    await iptables(pid, ['-F', chain])
    await iptables(pid, ['-X', chain])
  }
}

/** The actions, for `gameday plan`. */
export function describeCut(spec: PartitionSpec, members: Member[]): string[] {
  const side = (g: number) =>
    `[${members
      .filter((m) => m.group === g)
      .map((m) => m.label)
      .join(', ')}]`
  const others = spec.groups.map((_, i) => i).filter((i) => i > 0)
  if (spec.oneWay) {
    return [`drop packets from ${side(0)} to ${others.map(side).join(' and ')} (iptables DROP in each container's network namespace)`]
  }
  const lines: string[] = []
  for (let a = 0; a < spec.groups.length; a++)
    for (let b = a + 1; b < spec.groups.length; b++)
      lines.push(`drop packets between ${side(a)} and ${side(b)} (iptables DROP in each container's network namespace)`)
  return lines
}

/**
 * Cuts the network between the groups of members. Symmetric: each member drops what comes from
 * and goes to every member of another group. One way: only what groups[0] sends to the others
 * is dropped (on both ends, so a restarted container on one side does not reopen the path).
 * Connections already open across the cut stay open, silent, until their ends give up on them
 * (or `sever` ends them).
 */
export async function cut(docker: Dockerode, network: string, spec: PartitionSpec, members: Member[]): Promise<PartitionState> {
  checkCanPartition()
  const live = new Map<string, { pid: number; ip: string }>()
  await Promise.all(
    members.map(async (m) => {
      const ns = await netns(docker, m.container, network)
      if (ns) live.set(m.container, ns)
    }),
  )
  const touched: string[] = []
  const across = new Map<string, string[]>()
  try {
    for (const m of members) {
      const ns = live.get(m.container)
      if (!ns) continue // not running: no namespace to cut
      const rules: string[] = []
      const peers: string[] = []
      for (const peer of members) {
        const peerNs = live.get(peer.container)
        if (!peerNs || peer.group === m.group) continue
        if (spec.oneWay) {
          if (m.group === 0) rules.push(`-A ${OUT} -d ${peerNs.ip}/32 -j DROP`)
          else if (peer.group === 0) rules.push(`-A ${IN} -s ${peerNs.ip}/32 -j DROP`)
          else continue
        } else {
          rules.push(`-A ${IN} -s ${peerNs.ip}/32 -j DROP`, `-A ${OUT} -d ${peerNs.ip}/32 -j DROP`)
        }
        peers.push(peerNs.ip)
      }
      if (!rules.length) continue
      touched.push(m.container)
      across.set(m.container, peers)
      await removeRules(ns.pid) // idempotent: a repeated cut replaces the rules
      const script = ['*filter', `:${IN} - [0:0]`, `:${OUT} - [0:0]`, `-I INPUT 1 -j ${IN}`, `-I OUTPUT 1 -j ${OUT}`, ...rules, 'COMMIT', ''].join('\n')
      const res = await run('nsenter', ['-t', String(ns.pid), '-n', 'iptables-restore', '-w', '5', '--noflush'], script)
      if (res.code !== 0) throw new GamedayError(`cannot add DROP rules in ${m.label}'s network namespace: ${res.stderr.trim() || `exit ${res.code}`}`)
    }
  } catch (err) {
    await heal(docker, network, { network, containers: touched, across: {} })
    throw err
  }
  return { network, containers: touched, across: Object.fromEntries(across) }
}

/**
 * Aborts the TCP connections still open across a cut, on both ends (`ss -K`: the kernel's
 * socket destroy), as TCP eventually gives up on a silent peer; the DROP rules stay, so new
 * connections time out. nats-server before 2.9.16 needs it: it delays route pings while it keeps
 * writing (nats-server#4014), so the side that keeps sending — a leader — never notices the cut.
 */
export async function sever(docker: Dockerode, network: string, state: PartitionState): Promise<void> {
  checkCanPartition()
  await Promise.all(
    Object.entries(state.across ?? {}).map(async ([container, ips]) => {
      const ns = await netns(docker, container, state.network ?? network)
      if (!ns || !ips.length) return
      const filter = ['(', ...ips.flatMap((ip, i) => (i ? ['or', 'dst', ip] : ['dst', ip])), ')']
      const res = await run('nsenter', ['-t', String(ns.pid), '-n', 'ss', '-K', '-t', '-n', ...filter])
      if (res.code !== 0) throw new GamedayError(`cannot abort the connections across the cut in ${container}: ${res.stderr.trim() || `exit ${res.code}`}`)
    }),
  )
}

/** Removes our rules from every container the cut touched; containers gone or restarted have none. */
export async function heal(docker: Dockerode, network: string, state: PartitionState): Promise<void> {
  await Promise.all(
    (state.containers ?? []).map(async (container) => {
      const ns = await netns(docker, container, state.network ?? network)
      if (ns) await removeRules(ns.pid)
    }),
  )
}

/** The DROP rules in force in one container (for evidence and tests): `iptables -S` lines of our chains. */
export async function rulesIn(docker: Dockerode, network: string, container: string): Promise<string[]> {
  const ns = await netns(docker, container, network)
  if (!ns) return []
  const res = await iptables(ns.pid, ['-S'])
  return res.stdout.split('\n').filter((l) => l.includes('GAMEDAY-'))
}
