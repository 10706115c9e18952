import { copyFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { NATS_TLS, type FaultContext, type Json, type Topology } from '../../src/api/index.ts'
import { accountsConfig, planAccounts } from '../../src/environments/nats-accounts.ts'
import { makeEnvironmentPki, type EnvironmentPki } from '../../src/environments/tls/environment-pki.ts'
import { natsTlsControl, type NatsTlsRuntime } from '../../src/environments/tls/nats-tls-control.ts'
import { createRng } from '../../src/util/rng.ts'
import { MemoryEnvironment } from '../../test/support/memory-environment.ts'
import { startNatsCluster, type TestNatsCluster } from '../../test/support/nats-cluster.ts'
import { natsBadCertificate, natsRotateCertificate } from './nats-tls.ts'
import { RELOAD_MAY_LOSE_A_MESSAGE } from '../../test/support/nats-version.ts'

describe('NATS TLS faults on 3 real nats-servers (TLS, accounts)', () => {
  let cluster: TestNatsCluster
  let pki: EnvironmentPki
  const files = (node: string, listener: string) => ({
    certFile: join(pki.dir, 'live', `${node}-${listener}.pem`),
    keyFile: join(pki.dir, 'live', `${node}-${listener}-key.pem`),
  })
  const open: NatsConnection[] = []

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gameday-test-tls-'))
    pki = await makeEnvironmentPki(dir, { servers: ['n1', 'n2', 'n3'].map((name) => ({ name, names: [] })), clients: ['gameday'] })
    // each listener its own files, as the environments lay them out
    ;(await import('node:fs')).mkdirSync(join(dir, 'live'))
    for (const n of ['n1', 'n2', 'n3'])
      for (const l of ['clients', 'routes']) {
        copyFileSync(pki.servers[n].certFile, files(n, l).certFile)
        copyFileSync(pki.servers[n].keyFile, files(n, l).keyFile)
      }
    const accounts = accountsConfig(planAccounts([]))
    cluster = await startNatsCluster(3, ({ name }) => ({
      tls: { caFile: pki.caFile, client: files(name, 'clients'), routes: files(name, 'routes') },
      accounts,
    }))
  }, 60_000)
  afterAll(async () => {
    await Promise.all(open.map((nc) => nc.close().catch(() => undefined)))
    await cluster?.stop()
    if (pki) rmSync(pki.dir, { recursive: true, force: true })
  })

  function context(opts: { reload?: (name: string) => Promise<void> } = {}) {
    const runtime: NatsTlsRuntime = {
      pkiDir: pki.dir,
      node: (name) => {
        const n = cluster.nodes.find((x) => x.name === name)!
        return {
          files: { clients: files(name, 'clients'), routes: files(name, 'routes') },
          names: ['127.0.0.1', 'localhost'],
          address: { clients: { host: '127.0.0.1', port: n.clientPort }, routes: { host: '127.0.0.1', port: n.clusterPort } },
        }
      },
      reload: opts.reload ?? (async (name) => cluster.reload(cluster.nodes.find((x) => x.name === name)!)),
      describeReload: (name) => `reload ${name}`,
    }
    const topology: Topology = {
      azs: ['az-a'],
      clusters: { test: { name: 'test', nodes: cluster.nodes.map((n) => ({ cluster: 'test', name: n.name, az: 'az-a' })) } },
      caches: {},
      services: {},
    }
    const env = new MemoryEnvironment(topology)
    const control = natsTlsControl(runtime)
    const byName = (name: string) => cluster.nodes.find((x) => x.name === name)!
    Object.assign(env, {
      capability: (key: { name: string }) => (key.name === NATS_TLS.name ? control : undefined),
      nodes: { ...env.nodes, kill: (n: { name: string }) => cluster.kill(byName(n.name)), start: (n: { name: string }) => cluster.start(byName(n.name)) },
    })
    const evidence: Json[] = []
    const ctx: FaultContext = {
      env,
      runId: 'test',
      rng: createRng(1),
      log: { info: () => {}, warn: () => {} },
      signal: new AbortController().signal,
      evidence: (_k, d) => evidence.push(d),
      dryRun: false,
      checkpoint: () => {},
    }
    return { ctx, control }
  }

  const gameday = { tls: { caFile: () => pki.caFile } }
  const client = async (servers: string[]) => {
    const nc = await connect({
      servers,
      tls: { caFile: gameday.tls.caFile(), certFile: pki.clients.gameday.certFile, keyFile: pki.clients.gameday.keyFile },
      noRandomize: true,
      ignoreClusterUpdates: true,
      reconnectTimeWait: 200,
      maxReconnectAttempts: -1,
      timeout: 2_000,
    })
    open.push(nc)
    return nc
  }

  it('rotates every node’s certificates in turn under load: no request fails, no client reconnects, and revert puts the old ones back exactly', async () => {
    const { ctx, control } = context()
    const responder = await client([cluster.urls()[2]])
    responder.subscribe('echo', { callback: (_e, m) => void m.respond(m.data) })
    await responder.flush()
    const requester = await client(cluster.urls())
    const events: string[] = []
    void (async () => {
      for await (const s of requester.status()) events.push(s.type)
    })()
    let stop = false
    const outcomes = { ok: 0, failed: 0 }
    const load = (async () => {
      while (!stop) {
        await requester.request('echo', 'x', { timeout: 1_000 }).then(
          () => outcomes.ok++,
          () => outcomes.failed++,
        )
        await new Promise((r) => setTimeout(r, 5)) // paced: a failing request must not starve the timers
      }
    })()
    const before = await Promise.all(cluster.nodes.map((n) => control.presented({ cluster: 'test', name: n.name, az: 'az-a' }, 'clients')))
    const states = []
    for (const n of cluster.nodes) {
      const s = { type: 'nats.rotate-certificate', target: { cluster: 'test', nodes: [n.name] }, params: natsRotateCertificate.params.parse({}) }
      const targets = await natsRotateCertificate.resolve(ctx, s)
      states.push({ s, state: await natsRotateCertificate.inject(ctx, s, targets) })
    }
    const rotated = await Promise.all(cluster.nodes.map((n) => control.presented({ cluster: 'test', name: n.name, az: 'az-a' }, 'clients')))
    rotated.forEach((fp, i) => expect(fp).not.toBe(before[i]))
    for (const { s, state } of states.reverse()) await natsRotateCertificate.revert(ctx, s, state)
    stop = true
    await load
    expect(await Promise.all(cluster.nodes.map((n) => control.presented({ cluster: 'test', name: n.name, az: 'az-a' }, 'clients')))).toEqual(before)
    // six reloads under load (three nodes, rotated and put back): none may cost a request, except on a server with nats-server#4327
    // (a reload with accounts can lose a message in flight), where one in a while does
    expect(outcomes.failed).toBeLessThanOrEqual(RELOAD_MAY_LOSE_A_MESSAGE ? 2 : 0)
    expect(outcomes.ok).toBeGreaterThan(50)
    expect(events.filter((e) => e === 'disconnect' || e === 'reconnect')).toEqual([])
  }, 60_000)

  it('a rotation whose reload never happens fails instead of claiming success (the broken variant)', async () => {
    const { ctx } = context({ reload: async () => {} })
    const s = {
      type: 'nats.rotate-certificate',
      target: { cluster: 'test', nodes: ['n1'] },
      params: natsRotateCertificate.params.parse({ listeners: ['clients'] }),
    }
    await expect(natsRotateCertificate.inject(ctx, s, await natsRotateCertificate.resolve(ctx, s))).rejects.toThrow(/present the new clients certificate/)
  }, 30_000)

  it('an expired certificate on n1: its clients move to the other nodes without hanging, a new client skips it, revert restores it', async () => {
    const { ctx, control } = context()
    const n1 = { cluster: 'test', name: 'n1', az: 'az-a' }
    const original = await control.presented(n1, 'clients')
    const onN1 = await client(cluster.urls())
    expect(onN1.getServer()).toBe(cluster.urls()[0].replace('nats://', ''))
    const s = {
      type: 'nats.bad-certificate',
      target: { cluster: 'test', nodes: ['n1'] },
      params: natsBadCertificate.params.parse({ kind: 'expired', restartBy: 'kill' }),
    }
    const state = await natsBadCertificate.inject(ctx, s, await natsBadCertificate.resolve(ctx, s))
    const started = Date.now()
    await onN1.flush().catch(() => undefined)
    for (
      let i = 0;
      i < 100 &&
      !(await onN1.flush().then(
        () => true,
        () => false,
      ));
      i++
    )
      await new Promise((r) => setTimeout(r, 100))
    expect(onN1.getServer()).not.toMatch(new RegExp(`:${cluster.nodes[0].clientPort}$`))
    expect(Date.now() - started).toBeLessThan(10_000)
    const fresh = await client(cluster.urls())
    expect(fresh.getServer()).not.toMatch(new RegExp(`:${cluster.nodes[0].clientPort}$`))
    await natsBadCertificate.revert(ctx, s, state)
    expect(await control.presented(n1, 'clients')).toBe(original)
    const direct = await client([cluster.urls()[0]])
    expect(direct.getServer()).toMatch(new RegExp(`:${cluster.nodes[0].clientPort}$`))
  }, 60_000)
})
