/**
 * Fault proxy benchmark (`npm run bench:proxy`): loopback only, about 20 s, never fails on
 * slowness — it prints figures next to their targets.
 *
 * The proxy runs in a child process (as `gameday proxy` would, and as a proxy in front of
 * nats-server sits in another process than its peers); the client and the upstream server run
 * here. Side by side, in the same run:
 *   - bulk throughput (MB/s) and request-reply round trips/s with p50/p99 round-trip latency,
 *     direct vs through the proxy with no toxic (targets: ≥ 80 % of direct, < 0.2 ms added p99);
 *   - the latency a latency toxic of 5 ms and 20 ms adds (target: L ± 2 ms);
 *   - the rate a bandwidth toxic of 1000 KB/s holds over more than a second (target: ± 10 %).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createServer, connect, type Server, type Socket, type AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { cpus, loadavg } from 'node:os'
import * as hdr from 'hdr-histogram-js'
import { Toxiproxy, type Proxy } from 'toxiproxy-node-client'
import { runProxyCommand } from '../src/proxy/index.ts'

const ROUNDS = 5
const BULK_SECONDS = 4 // in all, per side
const PINGPONG_SECONDS = 4
const MESSAGE_BYTES = 64

if (process.argv[2] === 'child-proxy') {
  await runProxyCommand({ listen: '127.0.0.1:0' })
  process.exit(0)
}

// --- plumbing

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)))
}

function dial(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port })
    s.setNoDelay(true)
    s.once('connect', () => resolve(s))
    s.once('error', reject)
  })
}

function portOf(listenAddress: string): number {
  return Number(listenAddress.slice(listenAddress.lastIndexOf(':') + 1))
}

async function startChildProxy(): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), 'child-proxy'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const url = await new Promise<string>((resolve, reject) => {
    let out = ''
    child.stdout!.on('data', (d) => {
      out += d
      const m = /listening on (http:\/\/\S+)/.exec(out)
      if (m) resolve(m[1]!)
    })
    child.once('exit', (code) => reject(new Error(`proxy child exited (${code}) before listening`)))
  })
  return { child, url }
}

function histogram() {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 })
}

// --- measurements

/** bytes per second a client can push to a discarding server through `port` */
async function bulk(port: number, seconds: number): Promise<number> {
  const socket = await dial(port)
  const chunk = Buffer.alloc(64 * 1024, 0x5a)
  let received = 0
  const counter = (d: Buffer) => (received += d.length)
  sinkCounters.add(counter)
  let writing = true
  const writer = (async () => {
    while (writing && !socket.destroyed) {
      if (!socket.write(chunk)) {
        await new Promise<void>((r) => {
          const done = () => {
            socket.off('drain', done)
            socket.off('close', done)
            r()
          }
          socket.on('drain', done)
          socket.on('close', done)
        })
      }
    }
  })()
  await sleep(100) // warm up
  const r0 = received
  const t0 = performance.now()
  await sleep(seconds * 1000)
  const bytes = received - r0
  const elapsed = (performance.now() - t0) / 1000
  writing = false
  socket.destroy()
  await writer.catch(() => {})
  sinkCounters.delete(counter)
  return bytes / elapsed
}

interface PingPong {
  perSecond: number
  p50: number
  p99: number
  samples: number[]
  /** the way back alone: echo server write → client read (ms) */
  back: number[]
  h: ReturnType<typeof histogram>
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]!
}

/** rounds of ping-pong as one: rate = median round's, percentiles over every sample */
function merge(rounds: PingPong[]): PingPong {
  const h = histogram()
  for (const r of rounds) h.add(r.h)
  return {
    perSecond: median(rounds.map((r) => r.perSecond)),
    p50: h.getValueAtPercentile(50) / 1000,
    p99: h.getValueAtPercentile(99) / 1000,
    samples: rounds.flatMap((r) => r.samples),
    back: rounds.flatMap((r) => r.back),
    h,
  }
}

/** one message in flight at a time: round trips and their latency (µs histogram) */
async function pingPong(port: number, opts: { seconds?: number; count?: number }): Promise<PingPong> {
  const socket = await dial(port)
  const message = Buffer.alloc(MESSAGE_BYTES, 0x61)
  const h = histogram()
  const samples: number[] = []
  const back: number[] = []
  let pending = 0
  let t0 = 0
  let n = 0
  const deadline = performance.now() + (opts.seconds ?? 60) * 1000
  await new Promise<void>((resolve) => {
    socket.on('data', (d: Buffer) => {
      pending -= d.length
      if (pending > 0) return
      const rtt = performance.now() - t0
      h.recordValue(Math.max(1, Math.round(rtt * 1000)))
      samples.push(rtt)
      back.push(performance.now() - echoReceivedAt)
      n++
      if ((opts.count !== undefined && n >= opts.count) || performance.now() > deadline) return resolve()
      send()
    })
    const send = () => {
      pending = MESSAGE_BYTES
      t0 = performance.now()
      socket.write(message)
    }
    send()
  })
  socket.destroy()
  const elapsed = samples.reduce((a, b) => a + b, 0) / 1000
  return { perSecond: n / elapsed, p50: h.getValueAtPercentile(50) / 1000, p99: h.getValueAtPercentile(99) / 1000, samples, back, h }
}

// the upstream servers: a discarding sink (bulk) and an echo (request-reply) that notes when a
// message reached it, so that the way back (upstream → proxy → client) can be timed alone
let echoReceivedAt = 0
const sinkCounters = new Set<(d: Buffer) => void>()
const sockets = new Set<Socket>()
const sink = createServer((s) => {
  sockets.add(s)
  s.setNoDelay(true)
  s.on('error', () => {})
  s.on('data', (d) => {
    for (const c of sinkCounters) c(d)
  })
})
const echo = createServer((s) => {
  sockets.add(s)
  s.setNoDelay(true)
  s.on('error', () => {})
  s.on('data', (d) => {
    echoReceivedAt = performance.now()
    s.write(d)
  })
})

const fmt = (n: number, digits = 2) => n.toFixed(digits)
const pad = (s: string, n: number) => s.padEnd(n)
const line = (cols: string[]) =>
  console.log(
    cols
      .map((c, i) => pad(c, [38, 14, 14, 14][i] ?? 0))
      .join('')
      .trimEnd(),
  )

async function main(): Promise<void> {
  const started = performance.now()
  const sinkPort = await listen(sink)
  const echoPort = await listen(echo)
  const { child, url } = await startChildProxy()
  const toxiproxy = new Toxiproxy(url)
  try {
    const bulkProxy = await toxiproxy.createProxy({ name: 'bulk', listen: '127.0.0.1:0', upstream: `127.0.0.1:${sinkPort}` })
    const rrProxy = await toxiproxy.createProxy({ name: 'rr', listen: '127.0.0.1:0', upstream: `127.0.0.1:${echoPort}` })
    console.log(
      `fault proxy benchmark — Node ${process.version}, ${cpus().length} CPUs, load average ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    )
    console.log(`proxy in a child process at ${url}; client and upstream servers here; loopback only\n`)

    // no toxic: direct vs proxy, interleaved in short rounds so that a noisy neighbour on the
    // machine weighs on both sides alike; the median round of each side is reported
    await pingPong(echoPort, { count: 2000 }) // warm up
    await pingPong(portOf(rrProxy.listen), { count: 2000 })
    const directBulks: number[] = []
    const proxyBulks: number[] = []
    const directRrs: PingPong[] = []
    const proxyRrs: PingPong[] = []
    for (let round = 0; round < ROUNDS; round++) {
      directBulks.push(await bulk(sinkPort, BULK_SECONDS / ROUNDS))
      proxyBulks.push(await bulk(portOf(bulkProxy.listen), BULK_SECONDS / ROUNDS))
      directRrs.push(await pingPong(echoPort, { seconds: PINGPONG_SECONDS / ROUNDS }))
      proxyRrs.push(await pingPong(portOf(rrProxy.listen), { seconds: PINGPONG_SECONDS / ROUNDS }))
    }
    const directBulk = median(directBulks)
    const proxyBulk = median(proxyBulks)
    const directRr = merge(directRrs)
    const proxyRr = merge(proxyRrs)

    line(['no toxic', 'direct', 'proxy', 'proxy/direct', 'target'])
    line(['bulk throughput (MB/s)', fmt(directBulk / 1e6, 0), fmt(proxyBulk / 1e6, 0), `${fmt((100 * proxyBulk) / directBulk, 0)} %`, '>= 80 % of direct'])
    line([
      `request-reply ${MESSAGE_BYTES} B (round trips/s)`,
      fmt(directRr.perSecond, 0),
      fmt(proxyRr.perSecond, 0),
      `${fmt((100 * proxyRr.perSecond) / directRr.perSecond, 0)} %`,
      '',
    ])
    line(['round trip p50 (ms)', fmt(directRr.p50, 3), fmt(proxyRr.p50, 3), `+${fmt(proxyRr.p50 - directRr.p50, 3)} ms`, ''])
    line(['round trip p99 (ms)', fmt(directRr.p99, 3), fmt(proxyRr.p99, 3), `+${fmt(proxyRr.p99 - directRr.p99, 3)} ms`, 'added p99 < 0.2 ms'])

    // latency toxics on the way back: added latency = (echo server write → client read through
    // the toxic) − the same without a toxic (median); one hop of processes, not four, so that the
    // machine's scheduling noise weighs less than in a full round trip
    const baseBack = median(proxyRr.back)
    console.log()
    line(['latency toxic (downstream, ms)', 'added p50', 'added p99', 'max error', 'target'])
    for (const [latency, count] of [
      [5, 200],
      [20, 60],
    ] as const) {
      const toxic = await rrProxy.addToxic({ name: 'lat', type: 'latency', stream: 'downstream', toxicity: 1, attributes: { latency, jitter: 0 } })
      const r = await pingPong(portOf(rrProxy.listen), { count })
      await toxic.remove()
      const added = r.back.map((s) => s - baseBack).sort((a, b) => a - b)
      const q = (p: number) => added[Math.min(added.length - 1, Math.floor((p / 100) * added.length))]!
      const maxErr = Math.max(...added.map((a) => Math.abs(a - latency)))
      const within = added.filter((a) => Math.abs(a - latency) <= 2).length
      line([
        `latency ${latency} (${count} messages)`,
        fmt(q(50), 3),
        fmt(q(99), 3),
        fmt(maxErr, 3),
        `${latency} ± 2 ms (${fmt((100 * within) / added.length, 1)} % within)`,
      ])
    }

    // bandwidth toxic on the bulk proxy (upstream: client → sink)
    const rate = 1000
    await bulkProxy.addToxic({ name: 'bw', type: 'bandwidth', stream: 'upstream', toxicity: 1, attributes: { rate } })
    const measured = await bulk(portOf(bulkProxy.listen), 1.5)
    console.log()
    line(['bandwidth toxic (upstream, KB/s)', 'set', 'measured', 'error', 'target'])
    line([`rate over 1.5 s`, String(rate), fmt(measured / 1000, 1), `${fmt((100 * (measured / 1000 - rate)) / rate, 2)} %`, '± 10 %'])

    console.log(
      `\n(${fmt((performance.now() - started) / 1000, 1)} s, load average now ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')})`,
    )
    await removeAll(toxiproxy)
  } finally {
    child.kill('SIGTERM')
    await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)))
    for (const s of sockets) s.destroy()
    sink.close()
    echo.close()
  }
}

async function removeAll(t: Toxiproxy): Promise<void> {
  const all: Record<string, Proxy> = await t.getAll()
  for (const p of Object.values(all)) await p.remove()
}

await main()
