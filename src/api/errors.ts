/** Typed errors a caller can branch on (nats.js style): errors are values, not strings to grep. */
export class GamedayError extends Error {
  override name = 'GamedayError'
}
/** Bad input: an experiment, environment file or flag. Carries file:line:col when known. */
export class ValidationError extends GamedayError {
  override name = 'ValidationError'
  constructor(
    message: string,
    readonly issues: { file: string; line: number; col: number; message: string }[] = [],
    options?: ErrorOptions,
  ) {
    super(message, options)
  }
}
/** A guardrail refused an action: allow-list, blast radius, confirmation. Nothing was mutated. */
export class GuardrailError extends GamedayError {
  override name = 'GuardrailError'
}
export class BlastRadiusError extends GuardrailError {
  override name = 'BlastRadiusError'
}
export class AllowListError extends GuardrailError {
  override name = 'AllowListError'
}
/** A selector matched nothing, or named something the environment does not have. */
export class TargetError extends GamedayError {
  override name = 'TargetError'
}
/** The environment cannot do what a fault asks (pause a node on AWS, an AWS-only fault locally): refused at plan. */
export class UnsupportedError extends GamedayError {
  override name = 'UnsupportedError'
}
/** The environment could not be found or reached (credentials, account, region, tags): says what to do; nothing was mutated. */
export class DiscoveryError extends GamedayError {
  override name = 'DiscoveryError'
}
/** The run was aborted (Ctrl-C, SIGTERM, guardrail). */
export class AbortError extends GamedayError {
  override name = 'AbortError'
}
