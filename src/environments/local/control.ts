/** The supervisor's control API, as the local environment's parts ask it (it starts the processes it then owns, and holds the Redis Cluster gates). */
import { GamedayError } from '../../api/errors.ts'
import type { LocalState } from './state.ts'

/** POSTs to the supervisor; resolves with its JSON answer. */
export type SupervisorControl = (path: string) => Promise<unknown>

export function supervisorControl(state: () => LocalState): SupervisorControl {
  return async (path) => {
    const res = await fetch(`http://127.0.0.1:${state().controlPort}${path}`, { method: 'POST', signal: AbortSignal.timeout(10_000) })
    if (!res.ok) throw new GamedayError(`the supervisor refused ${path}: ${await res.text()}`)
    const text = await res.text()
    return text ? (JSON.parse(text) as unknown) : undefined
  }
}
