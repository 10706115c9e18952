/** The local environment's `caches` part: redis-server processes, killed by pid, started again (empty) by the supervisor. */
import type { CacheControl } from '../../api/environment.ts'
import { TargetError } from '../../api/errors.ts'
import { waitFor } from '../../util/abort.ts'
import { canConnect } from '../../util/ports.ts'
import type { SupervisorControl } from './control.ts'
import { isAlive, killHard, readPid } from './processes.ts'
import type { LocalState } from './state.ts'

export function localCaches(state: () => LocalState, control: SupervisorControl): CacheControl {
  const cacheState = (cache: string) => {
    const c = state().caches[cache]
    if (!c) throw new TargetError(`no cache ${cache}`)
    return c
  }
  return {
    kill: async (cache) => killHard(readPid(cacheState(cache).pidFile)),
    start: async (cache) => {
      const c = cacheState(cache)
      if (isAlive(readPid(c.pidFile))) return
      await control(`/caches/${encodeURIComponent(cache)}/start`)
      await waitFor(`redis ${cache} to listen`, async () => canConnect(c.port, '127.0.0.1', 500), { timeoutMs: 10_000, intervalMs: 50 })
    },
    isRunning: async (cache) => isAlive(readPid(state().caches[cache]?.pidFile ?? '')),
  }
}
