/** The journals of real runs the report tests read (see fixtures/README.md). */
import { join } from 'node:path'
import { readJournal } from '../journal/journal.ts'
import { buildResult, type RunResult } from './result.ts'

export const FIXTURES = join(import.meta.dirname, 'fixtures')

export type FixtureName =
  | 'nats-node-kill.passed'
  | 'redis-throttle.passed'
  | 'redis-throttle.deviated'
  | 'redis-throttle.no-breaker'
  | 'kv-cas-under-kill.deviated'
  | 'nats-lame-duck.passed'
  | 'fargate-task-stop.passed'

export const fixturePath = (name: FixtureName) => join(FIXTURES, `${name}.jsonl`)

export function fixture(name: FixtureName): RunResult {
  return buildResult(readJournal(fixturePath(name)))
}
