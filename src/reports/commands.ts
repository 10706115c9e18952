/**
 * What `gameday compare` and `gameday report --index` do, as functions the command line calls
 * (and tests call without it): load the runs, print or write the pages, return the exit code.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { loadRun, findRuns } from './runs.ts'
import { compareRuns, compareText } from './compare.ts'
import { comparePage } from './compare-page.ts'
import { indexPage, indexRuns } from './index-page.ts'

/** 0: B has no new deviation; 1: it has (so CI can gate on "no worse than the last game day"). */
export function compareCommand(runA: string, runB: string, opts: { html?: string; out: (text: string) => void }): number {
  const c = compareRuns(loadRun(runA).result, loadRun(runB).result)
  opts.out(compareText(c))
  if (opts.html) {
    writeFileSync(opts.html, comparePage(c))
    opts.out(`comparison page: ${opts.html}\n`)
  }
  return c.newDeviations.length ? 1 : 0
}

/** Writes <reportsDir>/index.html; returns its path and what it lists. */
export function indexCommand(reportsDir: string, opts: { out: (text: string) => void }): string {
  const { runs, skipped } = findRuns(reportsDir)
  const experiments = indexRuns(reportsDir, runs)
  const file = join(reportsDir, 'index.html')
  writeFileSync(file, indexPage(reportsDir, experiments, skipped))
  for (const x of experiments) {
    const last = x.entries[0].readout
    opts.out(`${x.experiment.padEnd(28)} ${String(x.entries.length).padStart(3)} run(s)  last ${last.result.status.padEnd(12)} score ${x.trend.current ?? '—'}\n`)
  }
  for (const s of skipped) opts.out(`skipped ${s.dir}: ${s.why}\n`)
  opts.out(`index: ${file}\n`)
  return file
}
