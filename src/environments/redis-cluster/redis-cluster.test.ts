import { afterEach, describe, expect, it } from 'vitest'
import { startRedisCluster, type TestRedisCluster } from '../../../test/support/redis-cluster.ts'
import { checkCluster, nodeClient, parseClusterNodes } from './form.ts'
import { planClusterNodes } from './plan.ts'

describe('planClusterNodes', () => {
  it('puts each replica in another AZ than its primary and splits the slots evenly', () => {
    const nodes = planClusterNodes('cache', { shards: 3, replicasPerShard: 1 }, ['az-a', 'az-b', 'az-c'])
    expect(nodes.map((n) => `${n.name} ${n.az} ${n.initialRole} ${JSON.stringify(n.slots)}`)).toEqual([
      'cache-s1-0 az-a primary [[0,5460]]',
      'cache-s1-1 az-b replica []',
      'cache-s2-0 az-b primary [[5461,10921]]',
      'cache-s2-1 az-c replica []',
      'cache-s3-0 az-c primary [[10922,16383]]',
      'cache-s3-1 az-a replica []',
    ])
  })
  it('refuses replicas it cannot place away from their primary', () => {
    expect(() => planClusterNodes('cache', { shards: 3, replicasPerShard: 1 }, ['az-a'])).toThrow(/need 2 AZs, the environment has 1/)
  })
})

describe('a Redis Cluster of real redis-servers (3 shards, a replica each)', () => {
  let cluster: TestRedisCluster | undefined
  afterEach(async () => {
    await cluster?.stop()
    cluster = undefined
  })

  it('is formed with AUTH and TLS: all slots served, each primary with its replica; a client writes on every shard', async () => {
    cluster = await startRedisCluster({ auth: true, tls: true })
    const check = await checkCluster(cluster.nodes, { password: cluster.password, caFile: cluster.pki!.caFile })
    expect(check).toEqual({ ok: true, problems: [] })
    const client = await cluster.client()
    for (let i = 0; i < 30; i++) await client.set(`player:${i}`, String(i))
    expect(await client.get('player:29')).toBe('29')
    // a replica is reached by its own announced address and is a replica of the right shard
    const replica = cluster.nodes.find((n) => n.name === 'cache-s2-1')!
    const direct = nodeClient(replica, { password: cluster.password, caFile: cluster.pki!.caFile })
    const lines = parseClusterNodes((await direct.call('CLUSTER', 'NODES')) as string)
    direct.disconnect()
    const me = lines.find((l) => l.flags.includes('myself'))!
    expect(me.flags).toContain('slave')
    expect(lines.find((l) => l.id === me.primaryId)!.address).toBe(`127.0.0.1:${cluster.nodes.find((n) => n.name === 'cache-s2-0')!.announcePort}`)
  })

  it('the check finds a primary without its replica (the broken variant)', async () => {
    cluster = await startRedisCluster()
    await cluster.kill(cluster.nodes.find((n) => n.name === 'cache-s1-1')!)
    const check = await checkCluster(cluster.nodes, {})
    expect(check.ok).toBe(false)
    expect(check.problems.join('\n')).toMatch(/cache-s1-1: .*|has 0 of 1 replica/)
  })
})
