/**
 * A small seeded PRNG (sfc32 seeded through splitmix32) so that every random pick of a run is
 * reproducible from the run's seed: `--seed N` replays the same targets.
 */
export interface Rng {
  readonly seed: number
  /** uniform float in [0, 1) */
  next(): number
  /** uniform integer in [0, n) */
  int(n: number): number
  /** k distinct elements, order of the pick preserved */
  sample<T>(items: readonly T[], k: number): T[]
  /** an independent stream derived from this seed and a label (e.g. a step path) */
  fork(label: string): Rng
}

function splitmix32(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x9e3779b9) >>> 0
    let z = state
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0
    return (z ^ (z >>> 16)) >>> 0
  }
}

function hashLabel(label: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x01000193) >>> 0
  return h
}

export function createRng(seed: number): Rng {
  const init = splitmix32(seed)
  let a = init(),
    b = init(),
    c = init(),
    d = init()
  const next = (): number => {
    const t = (((a + b) >>> 0) + d) >>> 0
    d = (d + 1) >>> 0
    a = b ^ (b >>> 9)
    b = (c + (c << 3)) >>> 0
    c = ((c << 21) | (c >>> 11)) >>> 0
    c = (c + t) >>> 0
    return t / 4294967296
  }
  for (let i = 0; i < 12; i++) next()
  const rng: Rng = {
    seed,
    next,
    int: (n) => Math.floor(next() * n),
    sample<T>(items: readonly T[], k: number): T[] {
      const pool = [...items]
      const out: T[] = []
      for (let i = 0; i < Math.min(k, pool.length); i++) {
        const j = i + Math.floor(next() * (pool.length - i))
        ;[pool[i], pool[j]] = [pool[j], pool[i]]
        out.push(pool[i])
      }
      return out
    },
    fork: (label) => createRng((seed ^ hashLabel(label)) >>> 0),
  }
  return rng
}

export function randomSeed(): number {
  return Math.floor(Math.random() * 2 ** 31)
}
