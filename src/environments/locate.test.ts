import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { REPO_ROOT } from '../util/node-entry.ts'
import { envUpCommand, environmentFile } from './locate.ts'

describe('envUpCommand: what a "not up" message tells the user to run', () => {
  const elsewhere = mkdtempSync(join(tmpdir(), 'gameday-locate-'))
  afterAll(() => rmSync(elsewhere, { recursive: true, force: true }))

  it('names a named environment by its name, the default without --env', () => {
    expect(envUpCommand(environmentFile('local', REPO_ROOT), REPO_ROOT)).toBe('gameday env up')
    expect(envUpCommand(environmentFile('containers', REPO_ROOT), REPO_ROOT)).toBe('gameday env up --env containers')
  })

  it('names any other file by the path --env takes: relative under the working folder, else absolute', () => {
    expect(envUpCommand(join(REPO_ROOT, 'environments/local-secure.yaml'), REPO_ROOT)).toBe('gameday env up --env environments/local-secure.yaml')
    expect(envUpCommand(join(REPO_ROOT, 'environments/containers-secure.yaml'), elsewhere)).toBe(
      `gameday env up --env ${join(REPO_ROOT, 'environments/containers-secure.yaml')}`,
    )
    // and what it says finds that very file again
    expect(environmentFile('environments/local-secure.yaml', REPO_ROOT)).toBe(join(REPO_ROOT, 'environments/local-secure.yaml'))
  })
})
