/**
 * The recorded corpus (Porcupine's test data, MIT): 50 Jepsen etcd histories with known verdicts
 * and four kv histories (get / put / append, per key).
 */
import { readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { parseHistory } from '../history-formats/index.ts'
import { checkOperations, formatCounterexample } from './checker.ts'
import { casRegister } from './models/cas-register.ts'
import { kv } from './models/kv.ts'

const fixtures = fileURLToPath(new URL('../../../test/fixtures/linearizability/', import.meta.url))
const etcdDir = `${fixtures}jepsen-etcd/`
const verdicts = new Map(
  readFileSync(`${etcdDir}VERDICTS`, 'utf8')
    .trim()
    .split('\n')
    .map((line) => line.split(/\s+/) as [string, string]),
)

describe('Jepsen etcd histories', () => {
  const files = readdirSync(etcdDir)
    .filter((f) => f.endsWith('.log'))
    .sort()

  it('has the 50 histories of VERDICTS', () => {
    expect(files).toHaveLength(50)
    expect([...verdicts.keys()].sort()).toEqual(files)
    expect([...verdicts.values()].filter((v) => v === 'linearizable')).toHaveLength(10)
  })

  for (const file of files) {
    it(`${file} is ${verdicts.get(file)}`, async () => {
      const ops = parseHistory(readFileSync(etcdDir + file, 'utf8'), file)
      const r = await checkOperations(casRegister, ops)
      expect(r.verdict).toBe(verdicts.get(file))
      if (r.verdict === 'not-linearizable') {
        const cx = r.counterexample!
        // the blocked op completed (an indeterminate op can always be left out)
        expect(cx.blocked.op.status).not.toBe('info')
        expect(formatCounterexample(cx).some((l) => l.startsWith('  ✗ p'))).toBe(true)
      }
    })
  }
})

describe('kv histories', () => {
  for (const name of ['c01-ok', 'c01-bad', 'c10-ok', 'c10-bad']) {
    const expected = name.endsWith('-ok') ? 'linearizable' : 'not-linearizable'
    it(`${name} is ${expected}`, async () => {
      const ops = parseHistory(readFileSync(`${fixtures}kv/${name}.txt`, 'utf8'), name)
      const r = await checkOperations(kv, ops)
      expect(r.verdict).toBe(expected)
      expect(r.partitions).toBeGreaterThan(1) // checked per key
    })
  }

  it('points at the stale get of c01-bad', async () => {
    const ops = parseHistory(readFileSync(`${fixtures}kv/c01-bad.txt`, 'utf8'), 'c01-bad')
    const cx = (await checkOperations(kv, ops)).counterexample!
    expect(cx.partition).toBe('key "7"')
    expect(cx.blocked.text).toBe('get("7") → "x 0 0 y"')
    expect(cx.blocked.stateBefore).toBe('"x 0 0 yx 0 3 y"')
    expect(cx.blocked.op.line).toBe(59)
  })
})
