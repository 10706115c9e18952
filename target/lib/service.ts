/**
 * A task that serves NATS request-reply endpoints with protobuf payloads, built on the NATS
 * services framework (`@nats-io/services`): discoverable with `$SRV.PING|INFO|STATS.<name>`,
 * endpoints in queue group `q` so several tasks share the load, errors as framework error
 * headers plus a gameday.v1.ErrorDetail body.
 *
 * Lifecycle: connect → add endpoints → log `ready`; on SIGTERM stop the endpoints (drain their
 * subscriptions), wait for in-flight handlers, run the service's own release, `nc.drain()`.
 */
import { create, fromBinary, toBinary, type DescMessage, type MessageShape } from '@bufbuild/protobuf'
import { headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node'
import { Svcm, type Service, type ServiceMsg } from '@nats-io/services'
import { ErrorDetailSchema } from '../../gen/gameday/v1/common_pb.ts'
import { parseTaskEnv, type TaskEnv } from './env.ts'
import { createLogger, type Logger } from './log.ts'
import { connectNats, type ConnectionState } from './nats.ts'
import { fatal, InFlight, installCrashHandlers, installGracefulStop } from './lifecycle.ts'
import { AppError } from './errors.ts'

export const REQUEST_ID_HEADER = 'X-Request-Id'

export interface RequestContext {
  requestId: string
  env: TaskEnv
  log: Logger
}

export interface EndpointSpec<I extends DescMessage = DescMessage, O extends DescMessage = DescMessage> {
  /** endpoint name; the subject is `<service>.<name>` */
  name: string
  input: I
  output: O
  handle(req: MessageShape<I>, ctx: RequestContext): Promise<MessageShape<O>>
}

/** Typed constructor for an endpoint spec (keeps I/O inference per endpoint). */
export function endpoint<I extends DescMessage, O extends DescMessage>(spec: EndpointSpec<I, O>): EndpointSpec<I, O> {
  return spec
}

export interface ServiceTask {
  env: TaskEnv
  log: Logger
  nc: NatsConnection
  connection: ConnectionState
  inFlight: InFlight
}

export interface ServiceDefinition {
  /** service name in `$SRV.*` and subject prefix, e.g. `inventory` */
  name: string
  version: string
  description: string
  /** build the endpoints once connected (open stores, clients…) */
  setup(task: ServiceTask): Promise<{
    endpoints: EndpointSpec<any, any>[]
    /** the `data` of every endpoint in `$SRV.STATS.<name>` */
    statsData?: () => unknown
    /** fields added to the `ready` log line */
    readyFields?: Record<string, unknown>
    /** release resources after in-flight work is done, before `nc.drain()` */
    release?: () => Promise<void>
  }>
}

/** how long old and new endpoints both serve during a lame-duck handover */
const HANDOVER_OVERLAP_MS = 250
/** how long, at most, the handlers running on the old connection get to answer before it is drained */
const HANDOVER_ANSWER_MS = 5_000

export async function runService(def: ServiceDefinition): Promise<ServiceTask & { service: Service }> {
  let env: TaskEnv
  try {
    env = parseTaskEnv(process.env, { service: def.name })
  } catch (err) {
    return fatal(createLogger({ service: def.name, task: process.env.TASK_ID ?? String(process.pid) }), err)
  }
  const log = createLogger({ service: env.service, task: env.taskId })
  installCrashHandlers(log)
  const inFlight = new InFlight()
  try {
    const { nc, state } = await connectNats(env, log)
    const task: ServiceTask = { env, log, nc, connection: state, inFlight }
    const built = await def.setup(task)
    /** Adds the service and its endpoints (queue group `q`) on a connection; `served` counts the handlers running for it. */
    const serveOn = async (conn: NatsConnection, served: InFlight): Promise<Service> => {
      // @nats-io/services 3.0.0-25 types pin an older nats-core: the connection is the same thing.
      const svcm = new Svcm(conn as unknown as ConstructorParameters<typeof Svcm>[0])
      const svc = await svcm.add({
        name: def.name,
        version: def.version,
        description: def.description,
        metadata: { task: env.taskId, az: env.az },
        queue: 'q',
        ...(built.statsData ? { statsHandler: async () => built.statsData!() } : {}),
      })
      const group = svc.addGroup(def.name)
      for (const spec of built.endpoints) {
        group.addEndpoint(spec.name, {
          metadata: { input: spec.input.typeName, output: spec.output.typeName },
          handler: (err, msg) => {
            if (err) {
              log.error('endpoint-error', err, { endpoint: spec.name })
              return
            }
            void inFlight.track(() => served.track(() => serve(spec, msg, env, log)))
          },
        })
      }
      return svc
    }
    const served = new InFlight()
    const service = await serveOn(nc, served)
    // the endpoints' current home: the task's connection, or a newer one after a lame duck
    let endpoints = { nc, service, served }
    let stopping = false
    /**
     * NATS lame duck: the server will close the connection after its grace period, and a request
     * routed to it at that moment is lost. Make before break: the endpoints start on a new
     * connection, then the old ones stop (their subscriptions drain: what was delivered is
     * answered on the old connection, still open). The task's own connection stays for what
     * else uses it (stores, publishers) and reconnects by itself when it is closed.
     */
    const moveOnLameDuck = (home: typeof endpoints): void => {
      // GAMEDAY_BROKEN=no-lame-duck-handover: stay on the leaving server until it evicts us
      if (env.broken.has('no-lame-duck-handover')) return
      void (async () => {
        for await (const s of home.nc.status()) {
          if (s.type !== 'ldm' || stopping || endpoints !== home) continue
          log('nats-handover', { from: s.server })
          const next = await connectNats(env, log)
          const movedServed = new InFlight()
          const moved = { nc: next.nc, service: await serveOn(next.nc, movedServed), served: movedServed }
          await next.nc.flush()
          endpoints = moved
          moveOnLameDuck(moved)
          // flush only proves our server has the new interest; give the routes a moment to carry
          // it to the other servers before the old interest goes, so requests have somewhere to go
          await new Promise((r) => setTimeout(r, HANDOVER_OVERLAP_MS))
          await home.service.stop()
          // the handlers still running answer on the old connection: let them, before it goes
          // (bounded by the request budget a caller gives, the gateway's being 1 s)
          await Promise.race([home.served.idle(), new Promise((r) => setTimeout(r, HANDOVER_ANSWER_MS))])
          if (home.nc !== nc) await home.nc.drain()
          if (stopping) await moved.service.stop()
          return
        }
      })().catch((err) => log.error('nats-handover-failed', err))
    }
    moveOnLameDuck(endpoints)
    installGracefulStop(env, log, inFlight, {
      stopAccepting: async () => {
        stopping = true
        await endpoints.service.stop()
      },
      release: async () => {
        await built.release?.()
        if (endpoints.nc !== nc) await endpoints.nc.drain()
        await nc.drain()
      },
    })
    // Make sure the server has our subscriptions before announcing readiness.
    await nc.flush()
    log('ready', {
      subjects: built.endpoints.map((e) => `${def.name}.${e.name}`),
      queue: 'q',
      az: env.az,
      ...(env.broken.size ? { broken: [...env.broken] } : {}),
      ...built.readyFields,
    })
    return { ...task, service }
  } catch (err) {
    return fatal(log, err)
  }
}

async function serve(spec: EndpointSpec, msg: ServiceMsg, env: TaskEnv, log: Logger): Promise<void> {
  const requestId = msg.headers?.get(REQUEST_ID_HEADER) || ''
  const replyHeaders = natsHeaders()
  if (requestId) replyHeaders.set(REQUEST_ID_HEADER, requestId)
  let response: Uint8Array
  try {
    let req
    try {
      req = fromBinary(spec.input, msg.data)
    } catch (err) {
      throw new AppError(400, `bad ${spec.input.typeName}: ${err instanceof Error ? err.message : String(err)}`)
    }
    const res = await spec.handle(req, { requestId, env, log })
    response = toBinary(spec.output, res)
  } catch (err) {
    const appError = err instanceof AppError ? err : new AppError(500, err instanceof Error ? err.message : String(err))
    if (appError.code >= 500) log.error('request-failed', err, { endpoint: spec.name, requestId })
    const detail = create(ErrorDetailSchema, {
      code: appError.code,
      message: appError.message,
      ...(appError.currentVersion !== undefined ? { currentVersion: appError.currentVersion } : {}),
    })
    respond(
      () => msg.respondError(appError.code, oneLine(appError.message), toBinary(ErrorDetailSchema, detail), { headers: replyHeaders as never }),
      log,
      spec.name,
    )
    return
  }
  respond(() => msg.respond(response, { headers: replyHeaders as never }), log, spec.name)
}

function respond(send: () => boolean, log: Logger, endpoint: string): void {
  try {
    send()
  } catch (err) {
    // e.g. the connection closed under us: the requester will time out
    log.error('respond-failed', err, { endpoint })
  }
}

/** Header values cannot carry line breaks. */
function oneLine(s: string): string {
  return s.replace(/[\r\n]+/g, ' ').slice(0, 512)
}
