import { describe, expect, it } from 'vitest'
import { detectFormat, HistoryParseError, Keyword, parseHistory, readEdn } from './index.ts'
import { formatJsonlEvent } from './jsonl.ts'

const J = 'INFO  jepsen.util - '

describe('Jepsen etcd log', () => {
  it('pairs invocations and completions per process, time = line', () => {
    const text = [
      `${J}0\t:invoke\t:read\tnil`,
      `${J}1\t:invoke\t:cas\t[3 0]`,
      `${J}0\t:ok\t:read\t4`,
      `${J}1\t:fail\t:cas\t[3 0]`,
      `${J}2\t:invoke\t:write\t2`,
      `${J}2\t:ok\t:write\t2`,
      `${J}0\t:invoke\t:read\tnil`,
      `${J}0\t:ok\t:read\tnil`,
    ].join('\n')
    expect(detectFormat(text)).toBe('jepsen-log')
    const ops = parseHistory(text, 'x.log')
    expect(ops).toEqual([
      { process: 0, call: 1, return: 3, status: 'ok', input: { f: 'read', value: null }, output: 4, line: 1 },
      { process: 1, call: 2, return: 4, status: 'fail', input: { f: 'cas', value: [3, 0] }, output: [3, 0], line: 2 },
      { process: 2, call: 5, return: 6, status: 'ok', input: { f: 'write', value: 2 }, output: 2, line: 5 },
      { process: 0, call: 7, return: 8, status: 'ok', input: { f: 'read', value: null }, output: null, line: 7 },
    ])
  })

  it('makes timed-out and unfinished operations indeterminate', () => {
    const text = [
      `${J}4\t:invoke\t:write\t3`,
      `${J}5\t:invoke\t:read\tnil`,
      `${J}6\t:invoke\t:cas\t[1 2]`,
      `${J}4\t:info\t:write\t:timed-out`,
      `${J}5\t:fail\t:read\t:timed-out`,
      '',
    ].join('\n')
    const ops = parseHistory(text, 'x.log')
    expect(ops.map((o) => [o.input.f, o.status, o.return])).toEqual([
      ['write', 'info', Infinity],
      ['read', 'info', Infinity],
      ['cas', 'info', Infinity],
    ])
  })

  it('reports malformed lines with file and line', () => {
    expect(() => parseHistory(`${J}0\t:invoke\t:read\tnil\nhello`, 'a.log')).toThrow('a.log:2: not a jepsen.util event line')
    expect(() => parseHistory(`${J}0\t:invoke\t:cas\t[3`, 'a.log')).toThrow(/^a\.log:1: bad value/)
    expect(() => parseHistory(`${J}0\t:ok\t:read\t3`, 'a.log')).toThrow('a.log:1: process 0 completes read (ok) without an invocation')
    expect(() => parseHistory(`${J}0\t:invoke\t:read\tnil\n${J}0\t:invoke\t:read\tnil`, 'a.log')).toThrow(
      'a.log:2: process 0 invokes read while its read of line 1 is still open',
    )
    expect(() => parseHistory(`${J}0\t:invoke\t:cas\t5`, 'a.log')).toThrow('a.log:1: cas needs a [from to] value')
  })
})

describe('EDN kv history', () => {
  it('reads one map per line', () => {
    const text = [
      '{:process 9, :type :invoke, :f :append, :key "0", :value "x 9 0 y"}',
      '{:process :nemesis, :type :info, :f :start, :value nil}',
      '{:process 1, :type :invoke, :f :get, :key "0", :value nil}',
      '{:process 9, :type :ok, :f :append, :key "0", :value "x 9 0 y"}',
      '{:process 1, :type :ok, :f :get, :key "0", :value "x 9 0 y"}',
    ].join('\n')
    expect(detectFormat(text)).toBe('edn')
    const ops = parseHistory(text, 'kv.txt')
    expect(ops).toEqual([
      { process: 9, call: 1, return: 4, status: 'ok', input: { f: 'append', key: '0', value: 'x 9 0 y' }, output: 'x 9 0 y', line: 1 },
      { process: 1, call: 3, return: 5, status: 'ok', input: { f: 'get', key: '0', value: null }, output: 'x 9 0 y', line: 3 },
    ])
  })

  it('treats a fail with a timeout error as indeterminate, other fails as failed', () => {
    const text = [
      '{:process 1, :type :invoke, :f :put, :key "a", :value "v"}',
      '{:process 2, :type :invoke, :f :put, :key "b", :value "w"}',
      '{:process 1, :type :fail, :f :put, :key "a", :value "v", :error :timeout}',
      '{:process 2, :type :fail, :f :put, :key "b", :value "w", :error [:cas-failed "x"]}',
    ].join('\n')
    expect(parseHistory(text, 'kv.txt').map((o) => o.status)).toEqual(['info', 'fail'])
  })

  it('reads the EDN subset', () => {
    expect(readEdn('{:a [1 -2 3.5 nil true] "k" "q\\"\\n" :b (:c)}')).toEqual({
      a: [1, -2, 3.5, null, true],
      k: 'q"\n',
      b: [new Keyword('c')],
    })
    expect(() => readEdn('{:a 1')).toThrow('missing }')
    expect(() => readEdn('[1] x')).toThrow('trailing content')
    expect(() => readEdn('"abc')).toThrow('unterminated string')
  })

  it('reports errors with file and line', () => {
    expect(() => parseHistory('{:process 1, :type :invoke, :f :get}\n{:process 1 :type}', 'kv.txt')).toThrow(/^kv\.txt:2: /)
    expect(() => parseHistory('{:process 1, :type :call, :f :get}', 'kv.txt')).toThrow('kv.txt:1: :type must be')
  })
})

describe('Gameday JSONL history', () => {
  it('reads events with times, keys and values', () => {
    const lines = [
      '# cas probe, run 42',
      formatJsonlEvent({ process: 1, type: 'invoke', f: 'cas', key: 'k1', value: [3, 0], time: 12.001 }),
      formatJsonlEvent({ process: 2, type: 'invoke', f: 'read', key: 'k1', value: null, time: 12.002 }),
      formatJsonlEvent({ process: 2, type: 'ok', f: 'read', key: 'k1', value: 4, time: 12.003 }),
      formatJsonlEvent({ process: 1, type: 'ok', f: 'cas', key: 'k1', value: [3, 0], time: 12.004 }),
      '{"process":3,"type":"invoke","f":"write","key":"k2","value":"a","time":13}',
      '',
    ]
    const text = lines.join('\n')
    expect(detectFormat(text)).toBe('jsonl')
    const ops = parseHistory(text, 'h.jsonl')
    expect(ops).toEqual([
      { process: 1, call: 12.001, return: 12.004, status: 'ok', input: { f: 'cas', key: 'k1', value: [3, 0] }, output: [3, 0], line: 2 },
      { process: 2, call: 12.002, return: 12.003, status: 'ok', input: { f: 'read', key: 'k1', value: null }, output: 4, line: 3 },
      { process: 3, call: 13, return: Infinity, status: 'info', input: { f: 'write', key: 'k2', value: 'a' }, output: undefined, line: 6 },
    ])
  })

  it('treats info, timedOut fails and unfinished invocations as indeterminate', () => {
    const text = [
      { process: 1, type: 'invoke', f: 'write', value: 1, time: 1 },
      { process: 1, type: 'info', f: 'write', value: 1, time: 2 },
      { process: 1, type: 'invoke', f: 'cas', value: [1, 2], time: 3 },
      { process: 1, type: 'fail', f: 'cas', value: [1, 2], time: 4, timedOut: true },
      { process: 1, type: 'invoke', f: 'cas', value: [1, 2], time: 5 },
      { process: 1, type: 'fail', f: 'cas', value: [1, 2], time: 6 },
    ]
      .map((e) => JSON.stringify(e))
      .join('\n')
    expect(parseHistory(text, 'h.jsonl').map((o) => [o.status, o.return])).toEqual([
      ['info', Infinity],
      ['info', Infinity],
      ['fail', 6],
    ])
  })

  it('reports bad lines with file and line', () => {
    const ok = '{"process":1,"type":"invoke","f":"read","time":5}'
    expect(() => parseHistory(`${ok}\n{"process":1,`, 'h.jsonl')).toThrow(/^h\.jsonl:2: invalid JSON/)
    expect(() => parseHistory(`${ok}\n{"process":"a","type":"ok","f":"read"}`, 'h.jsonl')).toThrow('h.jsonl:2: "process" must be an integer')
    expect(() => parseHistory(`${ok}\n{"process":1,"type":"done","f":"read"}`, 'h.jsonl')).toThrow('h.jsonl:2: "type" must be')
    expect(() => parseHistory(`${ok}\n{"process":1,"type":"ok","f":"write","time":6}`, 'h.jsonl')).toThrow(
      'h.jsonl:2: process 1 completes write but invoked read (line 1)',
    )
    expect(() => parseHistory(`${ok}\n{"process":1,"type":"ok","f":"read","time":4}`, 'h.jsonl')).toThrow('h.jsonl:2: time 4 goes backwards')
    try {
      parseHistory(`${ok}\n{"process":1,`, 'h.jsonl')
    } catch (err) {
      expect(err).toBeInstanceOf(HistoryParseError)
      expect((err as HistoryParseError).line).toBe(2)
    }
  })
})

describe('format detection', () => {
  it('detects from the first non-empty line and refuses the unknown', () => {
    expect(detectFormat('\n\n')).toBeUndefined()
    expect(parseHistory('')).toEqual([])
    expect(() => parseHistory('\nhello world\n', 'z.txt')).toThrow('z.txt:2: unknown history format')
  })
})
