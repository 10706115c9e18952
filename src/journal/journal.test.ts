/** A journal as input: what cannot be read is one typed error with file:line and what to do, never a stack trace. */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { JournalError, JournalWriter, readJournal } from './journal.ts'
import { ValidationError } from '../api/errors.ts'
import { REPO_ROOT } from '../util/node-entry.ts'

const dir = () => mkdtempSync(join(tmpdir(), 'gameday-journal-'))
const START = JSON.stringify({ at: '2026-01-01T00:00:00Z', t: 0, type: 'run.started', runId: 'r' })

function journalWith(text: string): string {
  const file = join(dir(), 'journal.jsonl')
  writeFileSync(file, text)
  return file
}

function failure(path: string): JournalError {
  try {
    readJournal(path)
  } catch (err) {
    expect(err).toBeInstanceOf(JournalError)
    expect(err).toBeInstanceOf(ValidationError)
    return err as JournalError
  }
  throw new Error('read without an error')
}

describe('readJournal', () => {
  it('reads what the writer wrote, and the shipped sample', () => {
    const file = join(dir(), 'journal.jsonl')
    const w = new JournalWriter(file)
    w.append({ type: 'log', level: 'info', message: 'hello' })
    w.close()
    expect(readJournal(file).map((e) => e.type)).toEqual(['log'])
    expect(readJournal(join(REPO_ROOT, 'reports/sample/journal.jsonl'))[0].type).toBe('run.started')
  })

  it('skips a torn last line (a crash mid-write), but not a bad line that was finished', () => {
    expect(readJournal(journalWith(`${START}\n{"type":"log","lev`))).toHaveLength(1)
    expect(failure(journalWith(`${START}\n{"type":"log","lev\n`)).line).toBe(2)
  })

  it.each([
    ['a garbage line', `${START}\nnot json at all\n${START}\n`, 2, /:2: not a journal event \(.*\): the journal was edited or is not a journal/],
    ['a null line', `${START}\nnull\n${START}\n`, 2, /:2: not a journal event: null: each line is a JSON object with a "type"/],
    ['a line without a type', `${START}\n{"at":1}\n`, 2, /:2: not a journal event: \{"at":1\}/],
    ['an empty file', '', 0, /journal\.jsonl: the journal is empty: the run wrote nothing/],
    ['only blank lines', '\n\n  \n', 0, /the journal is empty/],
  ])('%s', (_what, text, line, message) => {
    const err = failure(journalWith(text))
    expect(err.line).toBe(line)
    expect(err.message).toMatch(message)
    expect(err.message).not.toMatch(/\n\s+at /)
  })

  it('a directory or a missing file', () => {
    const d = dir()
    mkdirSync(join(d, 'journal.jsonl'))
    expect(failure(join(d, 'journal.jsonl')).message).toMatch(
      /journal\.jsonl: is a directory, not a journal: give the run directory or its journal\.jsonl file/,
    )
    expect(failure(join(d, 'nope', 'journal.jsonl')).message).toMatch(/nope\/journal\.jsonl: no such journal: check the run directory/)
  })
})
