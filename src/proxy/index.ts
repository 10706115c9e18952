/**
 * The fault proxy: a Toxiproxy-compatible TCP fault proxy, embeddable (FaultProxy) or
 * standalone (runProxyCommand). Drive it with any Toxiproxy client, or in-process.
 */
export { FaultProxy, runProxyCommand, VERSION, DEFAULT_ADMIN_LISTEN } from './server.ts'
export type { FaultProxyOptions, ProxyInput, ProxyUpdate } from './server.ts'
export type { ProxyJson } from './proxy.ts'
export type { ConnectionInfo } from './link.ts'
export { TOXIC_TYPES } from './toxics.ts'
export type { ToxicInput, ToxicUpdate, ToxicJson, ToxicType, ToxicAttributes, StreamDirection } from './toxics.ts'
export { FaultProxyError } from './errors.ts'
export type { FaultProxyErrorKind } from './errors.ts'
