import { describe, expect, it } from 'vitest'
import { replicasToCreate } from './jetstream.ts'

describe('the replicas a new stream of the target gets', () => {
  it('as asked; one under GAMEDAY_BROKEN=one-replica-stream (a stream the system depends on, at R1)', () => {
    expect(replicasToCreate(3, {})).toBe(3)
    expect(replicasToCreate(3, { GAMEDAY_BROKEN: 'no-drain' })).toBe(3)
    expect(replicasToCreate(3, { GAMEDAY_BROKEN: 'no-drain,one-replica-stream' })).toBe(1)
  })
})
