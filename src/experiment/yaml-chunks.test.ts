/**
 * The chunked reader of large files (yaml-split.ts + yaml-chunks.ts) must give what the
 * positioned parser gives: the same value, and the same line:col for every path in it. Each
 * text is read both ways (the fast reader forced on a small text).
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { isDeepStrictEqual } from 'node:util'
import fc from 'fast-check'
import { CORE_SCHEMA, load, mergeTag } from 'js-yaml'
import { stringify } from 'yaml'
import { describe, expect, it } from 'vitest'
import { YamlSource } from './yaml-source.ts'
import { splitTopLevelSequences } from './yaml-split.ts'
import { ChunkedYaml } from './yaml-chunks.ts'

/** every path to a value in plain data, collections and leaves */
function pathsOf(value: unknown, at: PropertyKey[] = [], out: PropertyKey[][] = []): PropertyKey[][] {
  out.push(at)
  if (Array.isArray(value)) value.forEach((v, i) => pathsOf(v, [...at, i], out))
  else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) pathsOf(v, [...at, k], out)
  return out
}

function sameAnswers(text: string): void {
  const positioned = YamlSource.parse('x.yaml', text, { fastFromBytes: Infinity })
  const fast = YamlSource.parse('x.yaml', text, { fastFromBytes: 0 })
  expect(positioned.syntaxIssues(), text).toEqual([])
  expect(fast.syntaxIssues()).toEqual([])
  expect(fast.toJS()).toEqual(positioned.toJS())
  for (const path of pathsOf(positioned.toJS())) expect(fast.position(path), JSON.stringify(path)).toEqual(positioned.position(path))
  // paths that name nothing: the deepest ancestor that exists
  expect(fast.position(['method', 0, 'nosuchkey', 3])).toEqual(positioned.position(['method', 0, 'nosuchkey', 3]))
  expect(fast.position(['nosuchkey'])).toEqual(positioned.position(['nosuchkey']))
}

const HAND_WRITTEN = `# a comment first
name: "quoted: name"
description: |
  - a block scalar whose lines look like items
  - "with quotes' and [brackets
tags: [a, 'b''s', "c]"]
load:
  - { name: live, probe: request-slo, with: { rate: 50 }, tolerance: ["successRate >= 99%", "p99 < 2s"] }
method:
- name: compact items at column 0
  wait: 1ms
- fault: nats.kill-node   # a comment after
  target:
    cluster: core
    nodes: [n1,
      n2]
-   parallel:
      - wait: 1ms
      - sequence: [ { wait: 2ms }, { wait: 3ms } ]
# a comment between items
- probe:
    name: multi
    probe: nats-cluster-health
    tolerance: "a multi-line
      quoted scalar
      - that looks like an item"
- wait: >-
    folded
- name: 'an open [bracket { and # in quotes, it''s [not one'
  wait: 1s
- name: |
    'an open quote in a block scalar
  wait: 2s
- { name: "escaped \\" [quote", wait: 3s }
- { <<: { wait: 1s }, name: merged }
guardrails:
  - { probe: live, abortWhen: "successRate < 50%" }
  - maxDuration: 24h
`

describe('a large file read in chunks', () => {
  it('splits the top-level sequences at their items, and nothing inside a quote, a bracket or a block scalar', () => {
    const split = splitTopLevelSequences(HAND_WRITTEN)
    expect(split?.sequences.map((s) => [s.key, s.items.length])).toEqual([
      ['load', 1],
      ['method', 9],
      ['guardrails', 2],
    ])
  })

  it('reads it in chunks, not whole', () => {
    for (const text of [HAND_WRITTEN, HAND_WRITTEN.replaceAll('\n', '\r\n'), '\uFEFF' + HAND_WRITTEN, '---\n' + HAND_WRITTEN]) {
      const split = splitTopLevelSequences(text)
      expect(split && new ChunkedYaml(text, split, CORE_SCHEMA.withTags(mergeTag)).load()).toEqual(load(text, { schema: CORE_SCHEMA.withTags(mergeTag) }))
    }
  })

  it('gives the value and every position the positioned parser gives', () => {
    sameAnswers(HAND_WRITTEN)
    sameAnswers(HAND_WRITTEN.replaceAll('\n', '\r\n'))
    sameAnswers('\uFEFF' + HAND_WRITTEN)
    sameAnswers('---\n' + HAND_WRITTEN)
    const shipped = join(import.meta.dirname, '../../experiments')
    for (const f of readdirSync(shipped).filter((f) => f.endsWith('.yaml'))) sameAnswers(readFileSync(join(shipped, f), 'utf8'))
  })

  it('reads the file whole when it cannot be cut for certain, and still agrees', () => {
    const tagged = HAND_WRITTEN.replace('wait: 1ms\n- fault', 'wait: !!str 1ms\n- fault')
    expect(splitTopLevelSequences(tagged)).toBeUndefined()
    sameAnswers(tagged)
    // an apostrophe in a plain scalar looks like an open quote to the scan: no cut after it, same answers
    sameAnswers(HAND_WRITTEN.replace('name: compact items at column 0', "name: don't cut here"))
  })

  it('a cut that would break a chunk is noticed: the file is then read whole', () => {
    // a quoted scalar continued at column 0 is no cut point, whatever the scan thinks of it
    const text = `name: x\nmethod:\n  - wait: 1s\n    name: 'a\n  - b'\n  - wait: 2s\n`
    const fast = YamlSource.parse('x.yaml', text, { fastFromBytes: 0 })
    expect(fast.toJS()).toEqual(YamlSource.parse('x.yaml', text, { fastFromBytes: Infinity }).toJS())
  })

  it('a syntax error in a large file is still reported where it is', () => {
    const text = `name: x\nmethod:\n  - wait: 1s\n  - wait: [2s\n  - wait: 3s\n`
    const issues = YamlSource.parse('x.yaml', text, { fastFromBytes: 0 }).syntaxIssues()
    expect(issues).toEqual(YamlSource.parse('x.yaml', text, { fastFromBytes: Infinity }).syntaxIssues())
    expect(issues).toHaveLength(1)
  })

  it('agrees with the positioned parser on generated documents, written in block and flow styles, cut or garbled', () => {
    const scalar = fc.oneof(
      fc.string({ maxLength: 12 }),
      fc.integer(),
      fc.boolean(),
      fc.constant(null),
      fc.constantFrom("it's", 'a: b', '- x', '#no', '"q"', 'x\ny', '[', '|'),
    )
    const { tree } = fc.letrec<{ tree: unknown }>((tie) => ({
      tree: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        scalar,
        fc.array(tie('tree'), { maxLength: 3 }),
        fc.dictionary(fc.string({ minLength: 1, maxLength: 6 }), tie('tree'), { maxKeys: 3 }),
      ),
    }))
    const doc = fc.record({ name: scalar, method: fc.array(tree, { minLength: 1, maxLength: 5 }), load: fc.array(tree, { maxLength: 2 }), tags: tree })
    const texts = fc
      .tuple(
        doc,
        fc.constantFrom(0, 1, 2, 4),
        fc.boolean(),
        fc.nat(),
        fc.constantFrom('clean', 'clean', 'cut', 'garble'),
        fc.constantFrom(':', '[', '"', "'", '- ', '\n  - ', '#', '|'),
      )
      .map(([d, flowLevel, indentSeq, at, how, junk]) => {
        const text = stringify(d, { collectionStyle: flowLevel === 0 ? 'block' : 'any', indentSeq, lineWidth: flowLevel * 20 })
        const i = at % Math.max(1, text.length)
        return how === 'clean' ? text : how === 'cut' ? text.slice(0, i) : text.slice(0, i) + junk + text.slice(i + 1)
      })
    fc.assert(
      fc.property(texts, (text) => {
        let whole: unknown
        try {
          whole = load(text, { schema: CORE_SCHEMA.withTags(mergeTag) })
        } catch {
          return // the fast reader refuses it too, and the positioned parser answers
        }
        // read in chunks or whole, js-yaml reads the same
        expect(YamlSource.parse('x.yaml', text, { fastFromBytes: 0 }).toJS()).toEqual(whole)
        // where the two parsers agree on the value (they differ on e.g. a null key), they agree on positions
        const positioned = YamlSource.parse('x.yaml', text, { fastFromBytes: Infinity })
        if (positioned.syntaxIssues().length === 0 && isDeepStrictEqual(positioned.toJS(), whole)) sameAnswers(text)
      }),
      { seed: 20261202, numRuns: 800 },
    )
  })

  it('hands the items of a sequence to its reader as they are read, in either reader', () => {
    const items = { method: (item: unknown, index: number) => ({ index, item }) }
    const fast = YamlSource.parse('x.yaml', HAND_WRITTEN, { fastFromBytes: 0, items })
    const positioned = YamlSource.parse('x.yaml', HAND_WRITTEN, { fastFromBytes: Infinity, items })
    const method = (fast.toJS() as { method: { index: number }[] }).method
    expect(method.map((m) => m.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8])
    expect(fast.toJS()).toEqual(positioned.toJS())
  })

  it('refuses an item nested beyond the bound, where it is', () => {
    const deep = `${'['.repeat(70)}${']'.repeat(70)}`
    const text = `name: x\nmethod:\n  - wait: 1s\n  - wait: 2s\n  - wait: ${deep}\nguardrails: []\n`
    const fast = YamlSource.parse('x.yaml', text, { fastFromBytes: 0, items: { method: (item) => item } })
    expect(fast.syntaxIssues()).toEqual([{ file: 'x.yaml', line: 5, col: expect.any(Number), message: expect.stringMatching(/nested deeper than 64 levels/) }])
    expect(YamlSource.parse('x.yaml', text, { fastFromBytes: Infinity }).syntaxIssues()).toEqual([
      { file: 'x.yaml', line: 5, col: expect.any(Number), message: expect.stringMatching(/nested deeper than 64 levels/) },
    ])
  })
})
