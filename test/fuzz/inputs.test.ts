/**
 * The fuzz test of experiments and environment files (fuzz.ts), in a process of its own: it
 * must end with exit 0 — no crash, no hang, no stack trace for any generated input — and
 * print its seed and counts.
 */
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { REPO_ROOT } from '../../src/util/node-entry.ts'

describe('fuzzing experiments and environment files over the schema’s shape', () => {
  it('gives a positioned error or a valid plan for every input: no crash, no hang, no stack trace', { timeout: 300_000 }, () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'test/fuzz/fuzz.ts')], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 280_000 })
    process.stdout.write(run.stdout)
    expect(run.status, run.stderr || run.stdout).toBe(0)
    expect(run.stdout).toMatch(/fuzz seed \d+: \d+ experiments/)
    expect(run.stdout).toMatch(/fuzz seed \d+: \d+ environment files/)
  })
})
