/**
 * Errors a service handler throws to answer with a services-framework error
 * (headers Nats-Service-Error-Code / Nats-Service-Error, body gameday.v1.ErrorDetail).
 */
export class AppError extends Error {
  override name = 'AppError'
  constructor(
    readonly code: number,
    message: string,
    /** on a CAS conflict: the version currently stored (0n = absent) */
    readonly currentVersion?: bigint,
  ) {
    super(message)
  }
}

export const badRequest = (message: string) => new AppError(400, message)
export const notFound = (message: string) => new AppError(404, message)
export const conflict = (message: string, currentVersion: bigint) => new AppError(409, message, currentVersion)

/** Player ids end up in NATS subjects and KV keys: one subject token, no wildcards. */
export const PLAYER_ID = /^[A-Za-z0-9_-]{1,64}$/

export function checkPlayerId(id: string): string {
  if (!PLAYER_ID.test(id)) throw badRequest(`invalid player id ${JSON.stringify(id)} (want ${PLAYER_ID.source})`)
  return id
}
