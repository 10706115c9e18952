/** What a redis-server keeps across a crash, and its command-line arguments (single servers and cluster nodes alike). */
import { z } from 'zod'

/**
 * What a cache keeps across a crash. `none` is a pure cache (a restart starts empty).
 * `aof-everysec` writes each command to the append-only file before replying and fsyncs once a
 * second: a killed process loses nothing (the kernel holds the writes), a machine that loses
 * power may lose the last second. `aof-always` fsyncs before replying.
 */
export const RedisPersistence = z
  .enum(['none', 'aof-everysec', 'aof-always'])
  .default('none')
  .describe(
    'what the cache keeps across a crash: none (starts empty), aof-everysec (survives a killed process; a power loss may lose the last second), aof-always (fsync before replying)',
  )
export type RedisPersistence = z.infer<typeof RedisPersistence>

/** Arguments for redis-server after the port and bind address: snapshots off, AOF as asked. */
export function redisPersistenceArgs(persistence: RedisPersistence): string[] {
  const aof = persistence === 'none' ? ['--appendonly', 'no'] : ['--appendonly', 'yes', '--appendfsync', persistence === 'aof-always' ? 'always' : 'everysec']
  return ['--save', '', ...aof]
}
