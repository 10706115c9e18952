/**
 * The mutation table: for each shipped experiment, the deliberately broken variants of the
 * reference target (GAMEDAY_BROKEN, target/lib/env.ts) it must catch. A variant is a bug a user's
 * system could have; an experiment that passes with it in place has found nothing, however
 * green it looks. `npm run mutants` runs every pair on the local environment and prints caught /
 * missed / inconclusive; test/e2e/detection.local.test.ts keeps the verdict of the pairs marked
 * `ci` (the misses this table was made to close, cheap enough for CI).
 *
 * A variant or an experiment another branch is still adding is `pending` — listed, never run,
 * never counted as caught — until it exists (test/e2e/mutant-table.test.ts says when).
 */

export interface MutantPair {
  /** GAMEDAY_BROKEN value */
  variant: string
  /** the services whose tasks run broken */
  services: string[]
  /** what the experiment must see, in a few words */
  catches: string
  /** the variant does not exist in the target yet: who adds it */
  pending?: string
  /** run in CI (test/e2e/detection.local.test.ts) */
  ci?: boolean
}

export interface ExperimentRow {
  /** file under experiments/ */
  experiment: string
  /** the experiment is not shipped yet: who adds it */
  pending?: string
  /** runs on the local environment (false: AWS only) */
  local: boolean
  pairs: MutantPair[]
  /** why the row has no (runnable) pair, or what is special about it */
  note?: string
  /** service settings the row's baseline and variants both run with (why: in `note`) */
  serviceEnv?: Record<string, Record<string, string>>
}

export const MUTANT_TABLE: ExperimentRow[] = [
  {
    experiment: 'gateway-rolling-drain.yaml',
    local: true,
    pairs: [{ variant: 'no-drain', services: ['gateway'], catches: 'a gateway that exits on SIGTERM cuts the uploads it holds: lost', ci: true }],
  },
  {
    experiment: 'fargate-task-stop.yaml',
    local: true,
    pairs: [{ variant: 'no-drain', services: ['ai-integration'], catches: 'a stopped task drops the calls it holds: the gateway answers 504, lost' }],
  },
  {
    experiment: 'nats-lame-duck.yaml',
    local: true,
    pairs: [
      {
        variant: 'no-lame-duck-handover',
        services: ['gateway'],
        catches: 'a gateway that waits to be evicted loses the replies it awaits at eviction: 504, lost',
      },
    ],
  },
  {
    experiment: 'nats-node-kill.yaml',
    local: true,
    pairs: [
      {
        variant: 'no-reconnect',
        services: ['ai-integration'],
        catches: 'a task never back on NATS after its server died (no traffic probe notices): task-health unrecovered',
        ci: true,
      },
    ],
  },
  {
    experiment: 'nats-az-loss.yaml',
    local: true,
    pairs: [{ variant: 'no-reconnect', services: ['ai-integration'], catches: 'the az-b task never back on NATS: task-health unrecovered' }],
  },
  {
    experiment: 'nats-az-partition.yaml',
    local: true,
    pairs: [],
    note: 'no target variant reaches it: every task talks to a server of its own AZ, so an AZ cut separates servers, never a task from its server — it tests NATS and JetStream themselves',
  },
  {
    experiment: 'redis-throttle.yaml',
    local: true,
    pairs: [
      { variant: 'no-breaker', services: ['ai-integration'], catches: 'a breaker that never opens: every call waits for Redis' },
      {
        variant: 'long-breaker-timeout',
        services: ['ai-integration'],
        catches: 'a breaker whose timeout exceeds the added latency: slow calls succeed slowly, it never opens',
      },
    ],
  },
  {
    experiment: 'jetstream-leader-kill.yaml',
    local: true,
    pairs: [],
    note: 'durability of a stream the probe creates itself: no target code on its path (the system’s own EVENTS stream is events-stream-leader-kill’s)',
  },
  {
    experiment: 'events-stream-leader-kill.yaml',
    local: true,
    pairs: [
      {
        variant: 'one-replica-stream',
        services: ['player-state'],
        catches: 'the system’s own EVENTS stream created with one replica',
      },
    ],
  },
  {
    experiment: 'player-state-cas.yaml',
    local: true,
    // nats-server 2.9.10 acknowledges two KV updates from one revision on a replicated bucket
    // (nats-server#4320): the service as built deviates there, so the baseline could not pass
    serviceEnv: { 'player-state': { KV_REPLICAS: '1' } },
    note: 'player-state on a one-replica bucket: on nats-server before 2.10 a replicated bucket makes the service as built deviate too (nats-server#4320)',
    pairs: [
      {
        variant: 'non-atomic-cas',
        services: ['player-state'],
        catches: 'read-compare-write CAS: two updates from one version both win',
      },
      { variant: 'skip-cas', services: ['player-state'], catches: 'an update that ignores the expected version' },
      { variant: 'ack-without-store', services: ['player-state'], catches: 'an update acknowledged and never stored: lost updates' },
    ],
  },
  {
    experiment: 'kv-cas-under-kill.yaml',
    local: true,
    pairs: [],
    note: 'compare-and-set on NATS KV itself: no target code on its path; deviates on nats-server 2.9.10 (nats-server#4320)',
  },
  {
    experiment: 'redis-cas-restart.yaml',
    local: true,
    pairs: [],
    note: 'compare-and-set on Redis itself: no target code on its path; deviates by design on a Redis without persistence',
  },
  {
    experiment: 'az-power.yaml',
    local: false,
    pairs: [{ variant: 'no-breaker', services: ['ai-integration'], catches: 'a breaker that never opens through the failover' }],
    note: 'AWS only',
  },
  { experiment: 'redis-cas-failover.yaml', local: false, pairs: [], note: 'AWS only; compare-and-set on ElastiCache itself' },
  {
    experiment: 'redis-cluster-cas-failover.yaml',
    local: true,
    pairs: [],
    note: 'needs a Redis Cluster (environments/local-redis-cluster.yaml); its broken variant is the service as built, acknowledging before a replica has the write — REDIS_WAIT_REPLICAS=1 (local-redis-cluster-wait.yaml) is the fix (test/e2e/production-shape.local.test.ts)',
  },
  {
    experiment: 'nats-tls-rotation.yaml',
    local: true,
    pairs: [],
    note: 'needs NATS with TLS (environments/local-secure.yaml); no target variant reaches a reload that keeps connections',
  },
  {
    experiment: 'nats-expired-certificate.yaml',
    local: true,
    pairs: [],
    note: 'needs NATS with TLS (environments/local-secure.yaml); clients reconnecting is nats.js, not target code',
  },
]
