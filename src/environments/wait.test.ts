import { describe, expect, it } from 'vitest'
import { GamedayError } from '../api/errors.ts'
import { TimeoutError } from '../util/abort.ts'
import { waitUnlessFailed } from './wait.ts'

describe('waitUnlessFailed', () => {
  it('ends at once on a GamedayError, without waiting out the deadline', async () => {
    let calls = 0
    const failing = async () => {
      calls++
      throw new GamedayError('process exited with code 1')
    }
    await expect(waitUnlessFailed('nats', failing, { timeoutMs: 1_000, intervalMs: 1 })).rejects.toThrow('process exited with code 1')
    expect(calls).toBe(1)
  })

  it('takes any other error for "not yet" and polls on until the check is ready', async () => {
    let calls = 0
    const comingUp = async () => {
      if (++calls < 3) throw new Error('ECONNREFUSED')
      return 'up'
    }
    await expect(waitUnlessFailed('nats', comingUp, { timeoutMs: 60_000, intervalMs: 1 })).resolves.toBe('up')
    expect(calls).toBe(3)
  })

  it('names the last error when the deadline comes', async () => {
    const refused = async () => {
      throw new Error('ECONNREFUSED')
    }
    const wait = waitUnlessFailed('nats', refused, { timeoutMs: 0, intervalMs: 1 })
    await expect(wait).rejects.toBeInstanceOf(TimeoutError)
    await expect(wait).rejects.toThrow('timed out after 0ms waiting for nats: ECONNREFUSED')
  })
})
