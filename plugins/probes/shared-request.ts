/**
 * The request the load-sending probes (request-slo, drain) send, as their params name it: HTTP
 * through the gateway, or a NATS request on the cluster. One definition, so the two probes take
 * the same `with:` for the same request.
 */
import { z } from 'zod'

export const REQUEST_PARAMS = {
  via: z.enum(['gateway', 'nats']).default('gateway'),
  method: z.enum(['GET', 'POST', 'PUT']).default('GET'),
  path: z.string().default('/v1/inventory/player-{seq}').describe('gateway path; {seq} is the request number'),
  body: z.string().optional().describe('JSON body for POST/PUT; {seq} is the request number'),
  subject: z.string().default('inventory.get').describe('NATS subject when via: nats'),
  payload: z.string().default('').describe('NATS payload (base64) when via: nats'),
  cluster: z.string().default('core'),
}
