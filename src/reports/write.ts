/** Derives every report of a run from its journal: result.json, junit.xml, summary.md, report.html. */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { readJournal } from '../journal/journal.ts'
import { buildResult, type RunResult } from './result.ts'
import { junitXml } from './junit.ts'
import { markdownSummary } from './markdown.ts'
import { htmlReport } from './html.ts'

export function writeReports(runDir: string): RunResult {
  const result = buildResult(readJournal(join(runDir, 'journal.jsonl')))
  writeFileSync(join(runDir, 'result.json'), JSON.stringify(result, null, 2) + '\n')
  writeFileSync(join(runDir, 'junit.xml'), junitXml(result))
  writeFileSync(join(runDir, 'summary.md'), markdownSummary(result))
  writeFileSync(join(runDir, 'report.html'), htmlReport(result))
  return result
}
