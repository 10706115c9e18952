import { join } from 'node:path'
import { jetstreamManager } from '@nats-io/jetstream'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startNatsCluster, type TestNatsCluster } from '../../test/support/nats-cluster.ts'
import { connectOutcome as outcome, plaintextConnect } from '../../test/support/nats-clients.ts'
import { accountsConfig, planAccounts } from './nats-accounts.ts'
import { makeEnvironmentPki, type EnvironmentPki } from './tls/environment-pki.ts'
import { CertificateAuthority, writeCertificate, type CertificateFiles } from './tls/pki.ts'

const SERVICES = [{ name: 'gateway', calls: ['inventory', 'player-state'] }, { name: 'inventory' }, { name: 'player-state' }, { name: 'ai-integration' }]

describe('planAccounts', () => {
  it('puts each service in its own account, imports only what a service calls, and gives gameday everything', () => {
    const accounts = planAccounts(SERVICES)
    expect(accounts.map((a) => a.name)).toEqual(['GATEWAY', 'INVENTORY', 'PLAYER_STATE', 'AI_INTEGRATION', 'GAMEDAY', 'SYS'])
    const gateway = accounts.find((a) => a.name === 'GATEWAY')!
    expect(gateway.imports).toEqual([
      { kind: 'service', account: 'INVENTORY', subject: 'inventory.>' },
      { kind: 'service', account: 'PLAYER_STATE', subject: 'player-state.>' },
    ])
    const gameday = accounts.find((a) => a.name === 'GAMEDAY')!
    expect(gameday.imports).toContainEqual({ kind: 'stream', account: 'AI_INTEGRATION', subject: 'gameday.*.ai-integration' })
    expect(gameday.imports).toContainEqual({ kind: 'service', account: 'INVENTORY', subject: '$SRV.*.inventory' })
    expect(accountsConfig(accounts)).toContain('{ service: "$SRV.*.inventory", response_type: stream }')
  })

  it('refuses a call to a service the environment does not have', () => {
    expect(() => planAccounts([{ name: 'gateway', calls: ['inventry'] }])).toThrow(/gateway calls inventry, which is not a service/)
  })
})

describe('the same checks on the default plaintext cluster (the broken variant)', () => {
  it('a plaintext client and one without a certificate get in', async () => {
    const plain = await startNatsCluster(2)
    try {
      expect(await plaintextConnect(plain.nodes[0].clientPort)).toBe('PONG')
      expect(await outcome(plain.urls()[0], {})).toBe('connected')
    } finally {
      await plain.stop()
    }
  })
})

describe('a NATS cluster with TLS and accounts (3 real nats-servers)', () => {
  let cluster: TestNatsCluster
  let pki: EnvironmentPki
  let impostor: CertificateFiles
  const open: NatsConnection[] = []
  const as = (identity: string) => ({ tls: { caFile: pki.caFile, certFile: pki.clients[identity].certFile, keyFile: pki.clients[identity].keyFile } })
  const client = async (identity: string, server?: string) => {
    const nc = await connect({ servers: server ?? cluster.urls(), ...as(identity), timeout: 5_000 })
    open.push(nc)
    return nc
  }

  beforeAll(async () => {
    const dir = (await import('node:fs')).mkdtempSync(join((await import('node:os')).tmpdir(), 'gameday-test-pki-'))
    pki = await makeEnvironmentPki(dir, {
      servers: ['n1', 'n2', 'n3'].map((n) => ({ name: n, names: [n] })),
      clients: [...SERVICES.map((s) => s.name), 'gameday', 'stranger'],
    })
    // CN=gateway, a mapped user, but from a CA the servers do not trust
    impostor = writeCertificate(join(dir, 'impostor'), 'gateway', await (await CertificateAuthority.create('rogue CA')).issueClient('gateway'))
    const accounts = accountsConfig(planAccounts(SERVICES))
    cluster = await startNatsCluster(3, ({ name }) => ({
      tls: { caFile: pki.caFile, client: pki.servers[name], routes: pki.servers[name] },
      accounts,
    }))
  }, 60_000)

  afterAll(async () => {
    await Promise.all(open.map((nc) => nc.close().catch(() => undefined)))
    await cluster?.stop()
    if (pki) (await import('node:fs')).rmSync(pki.dir, { recursive: true, force: true })
  })

  it('every node refuses a plaintext client, one without a certificate, one with an untrusted or unmapped certificate', async () => {
    for (const n of cluster.nodes) {
      const url = `nats://127.0.0.1:${n.clientPort}`
      // the server's INFO says tls_required; a CONNECT in clear text ends the connection
      expect(await plaintextConnect(n.clientPort)).toBe('closed:')
      expect(await outcome(url, { tls: { caFile: pki.caFile } })).toMatch(/^refused/)
      expect(await outcome(url, { tls: { caFile: pki.caFile, ...impostor } })).toMatch(/^refused/)
      // signed by the CA, but CN=stranger is no user of any account
      expect(await outcome(url, as('stranger'))).toMatch(/refused: .*Authorization Violation/i)
      expect(await outcome(url, as('gateway'))).toBe('connected')
    }
  }, 60_000)

  it('the gateway calls inventory in another account on another node; a service it does not import has no responders for it', async () => {
    const inventory = await client('inventory', `nats://127.0.0.1:${cluster.nodes[2].clientPort}`)
    inventory.subscribe('inventory.get', { callback: (_e, m) => void m.respond(`items of ${m.string()}`) })
    const ai = await client('ai-integration', `nats://127.0.0.1:${cluster.nodes[2].clientPort}`)
    ai.subscribe('ai-integration.recommend', { callback: (_e, m) => void m.respond('a sword') })
    await inventory.flush()
    await ai.flush()
    const gateway = await client('gateway', `nats://127.0.0.1:${cluster.nodes[0].clientPort}`)
    // interest crosses the routes a moment after the subscription
    const reply = await (async () => {
      for (let i = 0; ; i++) {
        try {
          return (await gateway.request('inventory.get', 'p1', { timeout: 2_000 })).string()
        } catch (err) {
          if (i > 20) throw err
          await new Promise((r) => setTimeout(r, 100))
        }
      }
    })()
    expect(reply).toBe('items of p1')
    await expect(gateway.request('ai-integration.recommend', 'p1', { timeout: 1_000 })).rejects.toThrow(/no responders|503/i)
  })

  it("gameday's account sees every responder of $SRV.PING.<service> and the services' events", async () => {
    const tasks = [await client('inventory'), await client('inventory')]
    tasks.forEach((nc, i) => nc.subscribe('$SRV.PING.inventory', { callback: (_e, m) => void m.respond(`task ${i}`) }))
    const ai = await client('ai-integration')
    const gameday = await client('gameday')
    const events = gameday.subscribe('gameday.breaker.ai-integration', { max: 1 })
    await gameday.flush()
    await Promise.all(tasks.map((nc) => nc.flush()))
    let replies: string[] = []
    for (let i = 0; i < 20 && replies.length < 2; i++) {
      replies = []
      for await (const m of await gameday.requestMany('$SRV.PING.inventory', '', { maxWait: 500 })) replies.push(m.string())
    }
    expect(replies.sort()).toEqual(['task 0', 'task 1'])
    for (let i = 0; i < 50; i++) {
      ai.publish('gameday.breaker.ai-integration', 'open')
      await ai.flush()
      if (events.getReceived() > 0) break
      await new Promise((r) => setTimeout(r, 50))
    }
    expect(events.getReceived()).toBe(1)
  })

  it("JetStream in gameday's account keeps an R3 stream over the TLS routes", async () => {
    const jsm = await jetstreamManager(await client('gameday'))
    const info = await jsm.streams.add({ name: 'SECURE_R3', subjects: ['secure.>'], num_replicas: 3 })
    expect(info.config.num_replicas).toBe(3)
    expect(info.cluster?.replicas?.length).toBe(2)
  })
})
