/** The supervisor's control API, as the local environment's parts ask it (it starts the processes it then owns). */
import { GamedayError } from '../../api/errors.ts'
import type { LocalState } from './state.ts'

export type SupervisorControl = (path: string) => Promise<void>

export function supervisorControl(state: () => LocalState): SupervisorControl {
  return async (path) => {
    const res = await fetch(`http://127.0.0.1:${state().controlPort}${path}`, { method: 'POST', signal: AbortSignal.timeout(10_000) })
    if (!res.ok) throw new GamedayError(`the supervisor refused ${path}: ${await res.text()}`)
  }
}
