/**
 * The drain probe's HTTP requests: one request by id, from send to what came back, as an
 * `Attempt` for the classifier. A fresh connection per request unless `keepAlive` (the caller's
 * GatewayHttp agent).
 *
 * `hold` keeps a request in flight on purpose: the head and the first byte of the body go at
 * once, the rest of the body after `hold` — a slow upload, as a phone on a bad network sends.
 * The server has accepted the request (its handler runs, it counts as in flight) and must finish
 * it to drain; a server that exits instead cuts it, and the probe sees the reset. Only routes
 * that read a body hold anything (POST / PUT with `body:`).
 */
import type { IncomingMessage } from 'node:http'
import type { GatewayHttp } from '../../../src/api/index.ts'
import type { Attempt } from '../drain.ts'

export type Sender = (seq: number, id: string) => Promise<Attempt>

export interface HttpSenderOptions {
  method: string
  path: string
  body?: string
  timeout: number
  keepAlive: boolean
  /** ms to hold each request's body back after its first byte (0: send at once) */
  hold: number
}

/** Requests through `gateway` (http or https, the environment's CA; its agent decides keep-alive). */
export function httpSender(gateway: GatewayHttp, p: HttpSenderOptions): { send: Sender; close: () => void } {
  const send: Sender = (seq, id) =>
    new Promise<Attempt>((resolve) => {
      const a: Attempt = { written: false, responded: false, timedOut: false }
      let settled = false
      let holding: NodeJS.Timeout | undefined
      const settle = (patch: Partial<Attempt>) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        clearTimeout(holding)
        resolve({ ...a, ...patch })
      }
      const body = p.body === undefined ? undefined : Buffer.from(p.body.replaceAll('{seq}', String(seq)))
      const req = gateway.request({
        method: p.method,
        path: p.path.replaceAll('{seq}', String(seq)),
        headers: { 'x-request-id': id, ...(body !== undefined ? { 'content-type': 'application/json', 'content-length': body.length } : {}) },
      })
      const timer = setTimeout(() => {
        settle({ timedOut: true })
        req.destroy()
      }, p.timeout)
      req.on('finish', () => (a.written = true))
      req.on('response', (res: IncomingMessage) => {
        a.responded = true
        res.resume()
        res.on('end', () => settle({ status: res.statusCode ?? 0 }))
        res.on('error', (err: NodeJS.ErrnoException) => settle({ error: { code: err.code ?? 'ECONNRESET', name: err.name, message: err.message } }))
        res.on('aborted', () => settle({ error: { code: 'ECONNRESET', name: 'Error', message: 'response aborted' } }))
      })
      req.on('error', (err: NodeJS.ErrnoException) => settle({ error: { code: err.code, name: err.name, message: err.message } }))
      if (p.hold > 0 && body !== undefined && body.length > 1) {
        // once the head and a first byte are on the wire the server holds the request: it was sent
        req.write(body.subarray(0, 1), (err) => {
          if (!err) a.written = true
        })
        holding = setTimeout(() => req.end(body.subarray(1)), p.hold)
      } else req.end(body)
    })
  return { send, close: () => gateway.close() }
}
