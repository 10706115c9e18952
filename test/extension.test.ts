/** Users extend Gameday with the same API the built-ins use: an extension module is loaded and run. */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadExperiment } from '../src/experiment/load.ts'
import { defaultRegistry } from '../src/builtins.ts'
import { runExperiment } from '../src/engine/run.ts'
import { MemoryEnvironment } from './support/memory-environment.ts'

describe('extensions', () => {
  it('loads a module of custom probes and faults named by the experiment and runs them', async () => {
    const r = await loadExperiment(join(import.meta.dirname, 'fixtures/extension/uses-extension.yaml'), defaultRegistry())
    expect(r.ok, JSON.stringify(!r.ok && r.issues)).toBe(true)
    if (!r.ok) return
    expect(defaultRegistry().probe('queue-depth')).toBeUndefined() // did not leak into the shared registry
    const outcome = await runExperiment({
      loaded: r.loaded,
      env: new MemoryEnvironment(),
      environmentName: 'memory',
      reportsDir: mkdtempSync(join(tmpdir(), 'gameday-ext-')),
      log: { info() {}, warn() {} },
      live: false,
    })
    expect(outcome.status).toBe('passed')
    expect(outcome.result.probes[0]).toMatchObject({ name: 'backlog', verdict: 'pass', metrics: { pending: 12 } })
    expect(outcome.result.faults[0]).toMatchObject({ type: 'custom.noop', state: 'reverted' })
  })
})
