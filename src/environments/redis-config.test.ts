import { describe, expect, it } from 'vitest'
import { LocalConfigSchema } from './local/config.ts'
import { redisPersistenceArgs } from './redis-config.ts'

describe('redis-server persistence', () => {
  it('is a pure cache unless asked: no snapshots, no append-only file', () => {
    const config = LocalConfigSchema.parse({ kind: 'local', clusters: { core: { nodes: [{ name: 'n1', az: 'a' }] } }, caches: { cache: {} } })
    expect(config.caches.cache.persistence).toBe('none')
    expect(redisPersistenceArgs('none')).toEqual(['--save', '', '--appendonly', 'no'])
  })

  it('maps the AOF choices onto appendonly + appendfsync', () => {
    expect(redisPersistenceArgs('aof-everysec')).toEqual(['--save', '', '--appendonly', 'yes', '--appendfsync', 'everysec'])
    expect(redisPersistenceArgs('aof-always')).toEqual(['--save', '', '--appendonly', 'yes', '--appendfsync', 'always'])
  })
})
