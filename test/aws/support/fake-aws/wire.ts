/**
 * The AWS wire protocols, as far as the fake account needs them, written from what the SDK
 * sends and parses:
 *
 *   EC2          EC2 Query: form-encoded `Action=…&Filter.1.Name=…`, XML answers (`…Set/item`)
 *   STS, ElastiCache   Query: form-encoded, XML answers (`<XResponse><XResult>…`, named members)
 *   ECS          JSON 1.1, `X-Amz-Target: AmazonEC2ContainerServiceV20141113.<Op>`
 *   CloudWatch   JSON 1.0, `X-Amz-Target: GraniteServiceVersion20100801.<Op>`
 *   FIS          REST-JSON: /experimentTemplates, /experiments
 *
 * Which service a Query call is for comes from the SigV4 credential scope of its Authorization
 * header (…/eu-west-1/ec2/aws4_request), which also names the access key the caller used.
 */
import type { IncomingMessage } from 'node:http'

export interface WireRequest {
  service: string
  operation: string
  /** the input, in the SDK's shape (Filters, InstanceIds, …) where the protocol flattens it */
  input: Record<string, any>
  accessKeyId: string
  region: string
  protocol: 'query' | 'json' | 'rest-json'
}

export interface WireResponse {
  status: number
  headers: Record<string, string>
  body: string
}

/** An AWS error as the service would send it. */
export class AwsFault extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message)
  }
}

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const c of req) chunks.push(c as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

function credentialScope(req: IncomingMessage): { accessKeyId: string; region: string; service: string } {
  const auth = String(req.headers.authorization ?? '')
  const m = /Credential=([^/]+)\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request/.exec(auth)
  if (!m) throw new AwsFault('MissingAuthenticationToken', 'Request is missing Authentication Token', 403)
  return { accessKeyId: m[1], region: m[2], service: m[3] }
}

/** `Filter.1.Value.2=x` → { Filter: [ { Value: [ , 'x'] } ] } (1-based lists). */
function unflatten(params: URLSearchParams): Record<string, any> {
  const out: Record<string, any> = {}
  for (const [key, value] of params) {
    const parts = key.split('.')
    let node: any = out
    parts.forEach((part, i) => {
      const last = i === parts.length - 1
      const nextIsIndex = !last && /^\d+$/.test(parts[i + 1])
      const k = /^\d+$/.test(part) ? Number(part) - 1 : part
      if (last) node[k] = value
      else node = node[k] ??= nextIsIndex ? [] : {}
    })
  }
  return out
}

/** EC2 Query names its lists in the singular (Filter.1.Value.1, InstanceId.1); the SDK's input uses plurals. */
function ec2Input(flat: Record<string, any>): Record<string, any> {
  const input: Record<string, any> = {}
  for (const [k, v] of Object.entries(flat)) {
    if (k === 'Action' || k === 'Version') continue
    if (k === 'Filter') input.Filters = (v as any[]).map((f) => ({ Name: f.Name, Values: f.Value }))
    else if (k === 'InstanceId') input.InstanceIds = v
    else if (k === 'Force') input.Force = v === 'true'
    else input[k] = v
  }
  return input
}

export async function parseRequest(req: IncomingMessage): Promise<WireRequest> {
  const scope = credentialScope(req)
  const text = await readBody(req)
  const target = req.headers['x-amz-target']
  if (typeof target === 'string') {
    return { ...scope, operation: target.split('.').pop()!, input: text ? JSON.parse(text) : {}, protocol: 'json' }
  }
  const url = new URL(req.url ?? '/', 'http://fake')
  if (scope.service === 'fis') {
    const [, collection, id] = url.pathname.split('/')
    const body = text ? JSON.parse(text) : {}
    const query = Object.fromEntries(url.searchParams)
    const operation =
      collection === 'experimentTemplates'
        ? { POST: 'CreateExperimentTemplate', GET: id ? 'GetExperimentTemplate' : 'ListExperimentTemplates', DELETE: 'DeleteExperimentTemplate' }[req.method!]
        : { POST: 'StartExperiment', GET: id ? 'GetExperiment' : 'ListExperiments', DELETE: 'StopExperiment' }[req.method!]
    if (!operation) throw new AwsFault('UnknownOperationException', `${req.method} ${url.pathname}`, 404)
    return { ...scope, operation, input: { ...query, ...body, ...(id ? { id: decodeURIComponent(id) } : {}) }, protocol: 'rest-json' }
  }
  const flat = unflatten(new URLSearchParams(text))
  const operation = String(flat.Action ?? '')
  const input = scope.service === 'ec2' ? ec2Input(flat) : Object.fromEntries(Object.entries(flat).filter(([k]) => k !== 'Action' && k !== 'Version'))
  return { ...scope, operation, input, protocol: 'query' }
}

// ── answers ────────────────────────────────────────────────────────────────────────────────

const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')

/**
 * XML from a plain object: a key holding an array becomes a list of `member` elements (EC2
 * uses `item`; Query protocols name the member, given as `Key:Member`), undefined is left out.
 */
export function toXml(value: unknown, member = 'item'): string {
  if (value === undefined || value === null) return ''
  if (typeof value !== 'object') return escape(String(value))
  return Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .map(([key, v]) => {
      const [tag, itemTag] = key.split(':')
      if (Array.isArray(v)) return `<${tag}>${v.map((x) => `<${itemTag ?? member}>${toXml(x, member)}</${itemTag ?? member}>`).join('')}</${tag}>`
      return `<${tag}>${toXml(v, member)}</${tag}>`
    })
    .join('')
}

const REQUEST_ID = '00000000-0000-4000-8000-000000000000'

export function answer(req: WireRequest, output: Record<string, unknown>): WireResponse {
  if (req.protocol === 'json') {
    return { status: 200, headers: { 'content-type': `application/x-amz-json-${req.service === 'monitoring' ? '1.0' : '1.1'}` }, body: JSON.stringify(output) }
  }
  if (req.protocol === 'rest-json') return { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(output) }
  const xmlns =
    { ec2: 'http://ec2.amazonaws.com/doc/2016-11-15/', sts: 'https://sts.amazonaws.com/doc/2011-06-15/' }[req.service] ??
    'http://elasticache.amazonaws.com/doc/2015-02-02/'
  const body =
    req.service === 'ec2'
      ? `<${req.operation}Response xmlns="${xmlns}"><requestId>${REQUEST_ID}</requestId>${toXml(output)}</${req.operation}Response>`
      : `<${req.operation}Response xmlns="${xmlns}"><${req.operation}Result>${toXml(output)}</${req.operation}Result><ResponseMetadata><RequestId>${REQUEST_ID}</RequestId></ResponseMetadata></${req.operation}Response>`
  return { status: 200, headers: { 'content-type': 'text/xml' }, body: `<?xml version="1.0" encoding="UTF-8"?>${body}` }
}

export function failure(req: Pick<WireRequest, 'protocol' | 'service'> | undefined, err: AwsFault): WireResponse {
  if (!req || req.protocol === 'rest-json') {
    return { status: err.status, headers: { 'content-type': 'application/json', 'x-amzn-errortype': err.code }, body: JSON.stringify({ message: err.message }) }
  }
  if (req.protocol === 'json') {
    return { status: err.status, headers: { 'content-type': 'application/x-amz-json-1.1' }, body: JSON.stringify({ __type: err.code, message: err.message }) }
  }
  const body =
    req.service === 'ec2'
      ? `<Response><Errors><Error><Code>${err.code}</Code><Message>${escape(err.message)}</Message></Error></Errors><RequestID>${REQUEST_ID}</RequestID></Response>`
      : `<ErrorResponse><Error><Type>Sender</Type><Code>${err.code}</Code><Message>${escape(err.message)}</Message></Error><RequestId>${REQUEST_ID}</RequestId></ErrorResponse>`
  return { status: err.status, headers: { 'content-type': 'text/xml' }, body: `<?xml version="1.0" encoding="UTF-8"?>${body}` }
}
