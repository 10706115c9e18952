/**
 * Finding runs on disk: a run directory (the folder `gameday run` writes, with its journal),
 * its journal or result.json given directly, and every run under a reports folder. A run is
 * always rebuilt from its journal when it has one, so an older result.json never disagrees.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { ValidationError } from '../api/errors.ts'
import { readJournal } from '../journal/journal.ts'
import { buildResult, type RunResult } from './result.ts'

export interface LoadedRun {
  /** the run directory */
  dir: string
  result: RunResult
}

/** A run from its directory, its journal.jsonl or its result.json. */
export function loadRun(path: string): LoadedRun {
  const isDir = existsSync(path) && statSync(path).isDirectory()
  const dir = isDir ? path : dirname(path)
  const journal = isDir ? join(path, 'journal.jsonl') : basename(path) === 'journal.jsonl' ? path : undefined
  const resultFile = isDir ? join(path, 'result.json') : basename(path) === 'result.json' ? path : undefined
  try {
    if (journal && existsSync(journal)) return { dir, result: buildResult(readJournal(journal)) }
    if (resultFile && existsSync(resultFile)) return { dir, result: JSON.parse(readFileSync(resultFile, 'utf8')) as RunResult }
  } catch (err) {
    throw new ValidationError(`${path}: cannot read the run: ${(err as Error).message}`, [], { cause: err })
  }
  throw new ValidationError(`${path}: not a run (no journal.jsonl or result.json there); give a folder \`gameday run\` wrote, e.g. reports/<run-id>`)
}

/** Every run directly under a reports folder, oldest first; unreadable ones are listed apart, with why. */
export function findRuns(reportsDir: string): { runs: LoadedRun[]; skipped: { dir: string; why: string }[] } {
  if (!existsSync(reportsDir) || !statSync(reportsDir).isDirectory()) {
    throw new ValidationError(`${reportsDir}: no such folder; give the folder runs are written to (gameday run --reports, default reports/)`)
  }
  const runs: LoadedRun[] = []
  const skipped: { dir: string; why: string }[] = []
  for (const name of readdirSync(reportsDir).sort()) {
    const dir = join(reportsDir, name)
    if (!statSync(dir).isDirectory() || !(existsSync(join(dir, 'journal.jsonl')) || existsSync(join(dir, 'result.json')))) continue
    try {
      runs.push(loadRun(dir))
    } catch (err) {
      skipped.push({ dir, why: (err as Error).message })
    }
  }
  runs.sort((a, b) => a.result.startedAt.localeCompare(b.result.startedAt))
  return { runs, skipped }
}
