/** `gameday recover`: reverting, from the journal alone, what a crashed run left behind. */
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { recoverRun } from './recover.ts'
import { JournalWriter, readJournal } from '../journal/journal.ts'
import { defaultRegistry } from '../builtins.ts'
import { defineFault } from '../api/fault.ts'
import { DiscoveryError } from '../api/errors.ts'
import { MemoryEnvironment } from '../../test/support/memory-environment.ts'

const quiet = { info() {}, warn() {} }

function crashedRun(write: (j: JournalWriter) => void): string {
  const dir = mkdtempSync(join(tmpdir(), 'gameday-recover-'))
  const j = new JournalWriter(join(dir, 'journal.jsonl'))
  j.append({
    type: 'run.started',
    runId: 'r1',
    experiment: 'x',
    experimentFile: '/nowhere.yaml',
    environment: 'memory',
    environmentFile: 'memory',
    seed: 1,
    gameday: '0',
    host: 'h',
    pid: 1,
  })
  write(j)
  j.close() // no run.ended: the process died
  return dir
}

const node = (id: string, az: string) => ({ kind: 'node' as const, id, cluster: 'core', az })

describe('recoverRun', () => {
  it('restarts the nodes a crashed run killed: from the journaled revert state, or from the targets when inject never finished', async () => {
    const env = new MemoryEnvironment()
    env.down_.add('n1').add('n4')
    const dir = crashedRun((j) => {
      j.append({ type: 'fault.injecting', faultId: 'f1', fault: 'nats.kill-node', path: 'method[0]', selector: {}, params: {}, targets: [node('n1', 'az-a')] })
      j.append({ type: 'fault.injected', faultId: 'f1', revert: { cluster: 'core', nodes: ['n1'] }, tookMs: 3 })
      j.append({ type: 'fault.injecting', faultId: 'f2', fault: 'nats.kill-node', path: 'method[1]', selector: {}, params: {}, targets: [node('n4', 'az-b')] })
      j.append({ type: 'fault.injecting', faultId: 'f3', fault: 'nats.kill-node', path: 'method[2]', selector: {}, params: {}, targets: [node('n5', 'az-c')] })
      j.append({ type: 'fault.injected', faultId: 'f3', revert: { cluster: 'core', nodes: ['n5'] }, tookMs: 3 })
      j.append({ type: 'fault.reverting', faultId: 'f3', reason: 'duration elapsed' })
      j.append({ type: 'fault.reverted', faultId: 'f3', tookMs: 3 })
    })
    const outcome = await recoverRun(dir, env, defaultRegistry(), quiet)
    expect(outcome).toEqual({ reverted: 2, failed: 0 })
    expect(env.events).toEqual(['start n4', 'start n1']) // newest first; n5 was already reverted
    const events = readJournal(join(dir, 'journal.jsonl'))
    expect(events.filter((e) => e.type === 'fault.reverted').map((e) => (e as { faultId: string }).faultId)).toEqual(['f3', 'f2', 'f1'])
    const result = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8'))
    expect(result.status).toBe('incomplete')
    expect(result.faults.map((f: { state: string }) => f.state)).toEqual(['reverted', 'reverted', 'reverted'])
    expect(await recoverRun(dir, env, defaultRegistry(), quiet)).toEqual({ reverted: 0, failed: 0 }) // idempotent
  })

  it('uses the latest checkpoint of a fault that died mid-inject', async () => {
    const seen: unknown[] = []
    const registry = defaultRegistry().register({
      faults: [
        defineFault({
          type: 'test.multi',
          description: 'two-phase inject',
          targets: ['other'],
          params: z.object({}),
          resolve: async () => [],
          describe: () => [],
          inject: async () => ({}),
          revert: async (_c, _s, state) => void seen.push(state),
        }),
      ],
    })
    const dir = crashedRun((j) => {
      j.append({ type: 'fault.injecting', faultId: 'f1', fault: 'test.multi', path: 'method[0]', selector: {}, params: {}, targets: [] })
      j.append({ type: 'fault.checkpoint', faultId: 'f1', revert: { phase: 1 } })
      j.append({ type: 'fault.checkpoint', faultId: 'f1', revert: { phase: 2 } })
    })
    await recoverRun(dir, new MemoryEnvironment(), registry, quiet)
    expect(seen).toEqual([{ phase: 2 }])
  })

  it('discovers the freshly loaded environment (read-only) before the first revert', async () => {
    class Discovering extends MemoryEnvironment {
      async discover() {
        this.events.push('discover')
      }
    }
    const env = new Discovering()
    env.down_.add('n2')
    const dir = crashedRun((j) => {
      j.append({ type: 'fault.injecting', faultId: 'f1', fault: 'nats.kill-node', path: 'method[0]', selector: {}, params: {}, targets: [node('n2', 'az-a')] })
    })
    expect(await recoverRun(dir, env, defaultRegistry(), quiet)).toEqual({ reverted: 1, failed: 0 })
    expect(env.events).toEqual(['discover', 'start n2'])
  })

  it('reverts nothing, and says why, when the environment cannot be discovered', async () => {
    class Unreachable extends MemoryEnvironment {
      async discover(): Promise<void> {
        throw new DiscoveryError('no usable AWS credentials: log in')
      }
    }
    const env = new Unreachable()
    const dir = crashedRun((j) => {
      j.append({ type: 'fault.injecting', faultId: 'f1', fault: 'nats.kill-node', path: 'method[0]', selector: {}, params: {}, targets: [node('n2', 'az-a')] })
    })
    const said: string[] = []
    const log = { info: (m: string) => void said.push(m), warn: (m: string) => void said.push(m) }
    await expect(recoverRun(dir, env, defaultRegistry(), log)).rejects.toBeInstanceOf(DiscoveryError)
    expect(env.events).toEqual([])
    expect(said.at(-1)).toMatch(/cannot discover the local environment \(memory\), so nothing was reverted: no usable AWS credentials: log in/)
    expect(readJournal(join(dir, 'journal.jsonl')).map((e) => e.type)).toEqual(['run.started', 'fault.injecting'])
  })

  it('says when a fault type is unknown instead of pretending', async () => {
    const dir = crashedRun((j) => {
      j.append({ type: 'fault.injecting', faultId: 'f1', fault: 'custom.gone', path: 'method[0]', selector: {}, params: {}, targets: [] })
    })
    expect(await recoverRun(dir, new MemoryEnvironment(), defaultRegistry(), quiet)).toEqual({ reverted: 0, failed: 1 })
  })
})
