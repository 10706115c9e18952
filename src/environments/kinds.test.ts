import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { ValidationError } from '../api/errors.ts'
import { MemoryEnvironment } from '../../test/support/memory-environment.ts'
import { environmentKinds, registerKind } from './kinds.ts'
import { loadEnvironment } from './load.ts'

const dir = mkdtempSync(join(tmpdir(), 'gameday-kinds-'))
const file = (name: string, text: string) => {
  const path = join(dir, name)
  writeFileSync(path, text)
  return path
}

describe('environment kinds', () => {
  it('registers local, containers and aws', () => {
    expect(environmentKinds()).toEqual(expect.arrayContaining(['local', 'containers', 'aws']))
  })

  it('a new kind is one registration: its schema is checked with positions, then its loader makes the environment', async () => {
    let loaded = 0
    registerKind('memory-test', {
      schema: z.strictObject({ kind: z.literal('memory-test'), size: z.int().positive() }),
      load: async () => {
        loaded++
        return (_file, config) => Object.assign(new MemoryEnvironment(), { size: config.size })
      },
    })
    const bad = file('bad.yaml', 'kind: memory-test\nsize: -1\n')
    await expect(loadEnvironment(bad)).rejects.toThrow(new RegExp(`${bad}:2:1: .*`))
    expect(loaded).toBe(0) // a file that fails its schema loads none of the kind's code
    const env = await loadEnvironment(file('good.yaml', 'kind: memory-test\nsize: 3\n'))
    expect(env).toBeInstanceOf(MemoryEnvironment)
    expect((env as unknown as { size: number }).size).toBe(3)
    expect(loaded).toBe(1)
    expect(() => registerKind('memory-test', { load: async () => () => new MemoryEnvironment() })).toThrow(/twice/)
  })

  it('an unknown kind names the kinds there are, at the kind: line', async () => {
    const path = file('unknown.yaml', '# a comment\nkind: kubernetes\n')
    const err = await loadEnvironment(path).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ValidationError)
    expect((err as Error).message).toMatch(new RegExp(`^${path}:2:1: kind must be one of local, containers, aws`))
  })
})
