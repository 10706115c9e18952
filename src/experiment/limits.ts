/**
 * Every bound on what an experiment may ask, in one place: input is read, parsed and walked
 * only within these, so no file, include or method can exhaust memory, the stack or the timer.
 * (Durations are bounded where they are parsed: MAX_DURATION_MS in src/api/duration.ts, 24h.)
 */

/** An experiment, steady-state or environment file is read only up to this size. */
export const MAX_SOURCE_BYTES = 16 * 1024 * 1024
/** Collections in a YAML file nest at most this deep (a method nests far less; see MAX_STEP_DEPTH). */
export const MAX_YAML_DEPTH = 64
/** Composite steps (parallel, sequence, repeat) nest at most this deep. */
export const MAX_STEP_DEPTH = 16
/** A repeat runs at most this many rounds. */
export const MAX_REPEAT_TIMES = 10_000
/** An extension module must finish loading (its top-level code) within this long. */
export const EXTENSION_LOAD_TIMEOUT_MS = 10_000
