/**
 * `gameday recover RUN_DIR`: revert whatever a crashed or killed run left behind, from its
 * journal alone. A fault journaled as injecting but never as injected is reverted from its
 * targets (the crash may have come mid-inject); the outcome is appended to the same journal.
 *
 * The environment is freshly loaded, so it is first discovered — read-only, starting nothing
 * (AWS: Describe/List calls) — and a discovery that fails stops recover before any revert, with
 * its reason. Each revert verifies what it undid (an instance running, a task count back, an
 * experiment stopped) before it counts as reverted; a second recover finds nothing open and
 * says so.
 */
import { join } from 'node:path'
import type { Environment, Logger } from '../api/environment.ts'
import type { Registry } from '../api/registry.ts'
import { JournalWriter, readJournal } from '../journal/journal.ts'
import type { EventOf } from '../journal/events.ts'
import { createRng } from '../util/rng.ts'
import { FaultBook } from './faults.ts'
import { writeReports } from '../reports/write.ts'

export async function recoverRun(runDir: string, env: Environment, registry: Registry, log: Logger): Promise<{ reverted: number; failed: number }> {
  const events = readJournal(join(runDir, 'journal.jsonl'))
  const start = events.find((e): e is EventOf<'run.started'> => e.type === 'run.started')
  if (!start) throw new Error(`${runDir}: the journal has no run.started event`)
  const injecting = events.filter((e): e is EventOf<'fault.injecting'> => e.type === 'fault.injecting')
  const done = new Set(events.filter((e) => e.type === 'fault.reverted').map((e) => (e as EventOf<'fault.reverted'>).faultId))
  const open = injecting.filter((f) => !done.has(f.faultId))
  if (!open.length) {
    log.info(`nothing to recover: every fault of ${start.runId} was reverted`)
    return { reverted: 0, failed: 0 }
  }
  log.info(`recover ${start.runId}: ${open.length} fault(s) not reverted: ${open.map((f) => `${f.faultId} ${f.fault} (${f.path})`).join(', ')}`)
  if (env.discover) {
    try {
      await env.discover(log)
    } catch (err) {
      log.warn(`recover: cannot discover the ${env.kind} environment (${env.source}), so nothing was reverted: ${(err as Error).message}`)
      throw err
    }
  }
  const journal = new JournalWriter(join(runDir, 'journal.jsonl'))
  const book = new FaultBook(env, journal, start.runId, log)
  journal.append({ type: 'log', level: 'info', message: `gameday recover: reverting ${open.length} fault(s)` })
  let failed = 0
  for (const f of open) {
    const type = registry.fault(f.fault)
    if (!type) {
      log.warn(`cannot revert ${f.faultId}: unknown fault type ${f.fault} (load the experiment's extensions)`)
      failed++
      continue
    }
    // the newest revert state journaled for it: injected, else the last checkpoint, else from its targets
    const saved = events
      .filter(
        (e): e is EventOf<'fault.injected'> | EventOf<'fault.checkpoint'> =>
          (e.type === 'fault.injected' || e.type === 'fault.checkpoint') && e.faultId === f.faultId,
      )
      .at(-1)
    const state = saved ? saved.revert : (type.stateFromTargets?.(f.targets) ?? null)
    book.active.push({ faultId: f.faultId, type, spec: { type: f.fault, target: f.selector, params: f.params }, targets: f.targets, state })
  }
  const before = book.active.length
  await book.revertAll('gameday recover', createRng(start.seed))
  journal.close()
  writeReports(runDir)
  return { reverted: before - book.revertFailures, failed: failed + book.revertFailures }
}
