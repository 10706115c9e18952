/**
 * Errors of the fault proxy, as values a caller can branch on. Each carries the HTTP status
 * Toxiproxy answers with for the same condition, and the HTTP layer renders it as Toxiproxy
 * does: `{"error": message, "status": status}`.
 */
export type FaultProxyErrorKind =
  | 'bad_request' // 400: bad body, missing field, bad stream, bad toxic type, bad attributes
  | 'not_found' // 404: unknown proxy or toxic
  | 'conflict' // 409: proxy or toxic name already taken
  | 'listen_failed' // 500: the listen address could not be bound (Toxiproxy answers 500 too)

const STATUS: Record<FaultProxyErrorKind, number> = {
  bad_request: 400,
  not_found: 404,
  conflict: 409,
  listen_failed: 500,
}

export class FaultProxyError extends Error {
  override readonly name = 'FaultProxyError'
  readonly status: number
  constructor(
    readonly kind: FaultProxyErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
    this.status = STATUS[kind]
  }
}

// The messages are Toxiproxy's own, so tools that match on them keep working.
export const errors = {
  badBody: (detail: string) => new FaultProxyError('bad_request', `bad request body: ${detail}`),
  missingField: (field: string) => new FaultProxyError('bad_request', `missing required field: ${field}`),
  proxyNotFound: () => new FaultProxyError('not_found', 'proxy not found'),
  proxyExists: () => new FaultProxyError('conflict', 'proxy already exists'),
  invalidStream: () => new FaultProxyError('bad_request', 'stream was invalid, can be either upstream or downstream'),
  invalidToxicType: () => new FaultProxyError('bad_request', 'invalid toxic type'),
  toxicExists: () => new FaultProxyError('conflict', 'toxic already exists'),
  toxicNotFound: () => new FaultProxyError('not_found', 'toxic not found'),
}
