/**
 * `env up`'s last step, the same for every environment with the ECS stand-in: wait until every
 * service runs its desired count of ready tasks — and fail, never hang, when one cannot: a task
 * not ready within its service's readyTimeout, or a service whose tasks keep failing, is an error
 * that shows the task's last lines.
 */
import { GamedayError } from '../../api/errors.ts'
import { waitUnlessFailed } from '../wait.ts'
import type { TaskDefinition } from './definition.ts'
import type { TaskRecord } from './task.ts'

/** failed tasks of one service before `env up` gives up on it (a first crash may be a fluke) */
const FAILED_TASKS = 3

export function failureOf(tasks: TaskRecord[], def: TaskDefinition, whereLogs: (t: TaskRecord) => string): string | undefined {
  const failed = tasks.filter((t) => t.service === def.service && t.failed)
  const fatal = failed.find((t) => t.failed!.startsWith('not ready within')) ?? (failed.length >= FAILED_TASKS ? failed.at(-1) : undefined)
  if (!fatal) return undefined
  const lines = fatal.lastLines?.length ? fatal.lastLines.map((l) => `    ${l}`).join('\n') : '    (it wrote nothing)'
  const count = failed.length > 1 ? ` (${failed.length} of its tasks failed)` : ''
  return `${def.service}: task ${fatal.id} ${fatal.failed}${count}; its last lines:\n${lines}\n  (all of it: ${whereLogs(fatal)})`
}

export async function awaitServicesReady(
  records: () => Promise<TaskRecord[]>,
  definitions: Record<string, TaskDefinition>,
  opts: { whereLogs: (t: TaskRecord) => string; signal?: AbortSignal; stillUp?: () => void },
): Promise<void> {
  const defs = Object.values(definitions)
  if (!defs.length) return
  // each task has its own deadline; this one only bounds a stand-in that stopped answering
  const timeoutMs = Math.max(...defs.map((d) => d.readyTimeoutMs)) * FAILED_TASKS + 30_000
  await waitUnlessFailed(
    `${defs.map((d) => `${d.service}×${d.instances}`).join(', ')} to be ready`,
    async () => {
      opts.stillUp?.()
      const tasks = await records()
      for (const def of defs) {
        const failure = failureOf(tasks, def, opts.whereLogs)
        if (failure) throw new GamedayError(failure)
      }
      return defs.every((d) => tasks.filter((t) => t.service === d.service && t.state === 'RUNNING').length >= d.instances)
    },
    { timeoutMs, intervalMs: 100, signal: opts.signal },
  )
}
