import { describe, expect, it } from 'vitest'
import { describeRecovery } from './nats-cluster-health.ts'

describe('nats-cluster-health recovery evidence', () => {
  it('names each /healthz complaint once, with the nodes that made it and when', () => {
    const reasons = new Map([
      ['n5: JetStream has not established contact with a meta leader', 140],
      ['n4: JetStream has not established contact with a meta leader', 649],
      ['n1: JetStream is not current with the meta leader', 2689],
      ['routes: mesh not full', 0],
    ])
    expect(describeRecovery('healthy 17.1s after the revert', reasons)).toBe(
      'healthy 17.1s after the revert; unhealthy on the way: ' +
        'JetStream has not established contact with a meta leader (n5 +0.1s, n4 +0.6s); ' +
        'JetStream is not current with the meta leader (n1 +2.7s); ' +
        'mesh not full (routes +0.0s)',
    )
  })

  it('says only the outcome when every sample after the revert was healthy', () => {
    expect(describeRecovery('healthy 0.5s after the revert', new Map())).toBe('healthy 0.5s after the revert')
  })
})
