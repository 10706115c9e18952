/**
 * The ECS stand-in's API, served on the host's control port (the supervisor's on loopback, the
 * controller's published on 127.0.0.1) — what ECS's ListTasks / DescribeTasks / StopTask are:
 *
 *   GET  /tasks                        → { updatedAt, tasks: TaskRecord[] } (stopped ones included)
 *   POST /tasks/<id>/stop {graceMs?, reason?} → the record, once the task has exited
 *   POST /tasks/<id>/kill              → the record, once the task has exited
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { EcsScheduler } from './scheduler.ts'
import type { TaskRecord } from './task.ts'

export interface TasksResponse {
  updatedAt: string
  tasks: TaskRecord[]
}

async function body(req: IncomingMessage): Promise<Record<string, unknown>> {
  let text = ''
  for await (const chunk of req) text += chunk
  if (!text.trim()) return {}
  const parsed = JSON.parse(text) as unknown
  return parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : {}
}

const json = (res: ServerResponse, status: number, value: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value))

/** Answers the task API; false when the request is for something else (the host's own routes). */
export function serveTaskApi(scheduler: EcsScheduler, req: IncomingMessage, res: ServerResponse): boolean {
  const url = req.url ?? ''
  if (req.method === 'GET' && url === '/tasks') {
    json(res, 200, { updatedAt: scheduler.updatedAt, tasks: scheduler.tasks } satisfies TasksResponse)
    return true
  }
  const m = /^\/tasks\/([^/]+)\/(stop|kill)$/.exec(url)
  if (req.method !== 'POST' || !m) return false
  const id = decodeURIComponent(m[1])
  void (async () => {
    try {
      const opts = await body(req)
      const graceMs = typeof opts.graceMs === 'number' ? opts.graceMs : undefined
      const reason = typeof opts.reason === 'string' ? opts.reason : undefined
      const record = m[2] === 'stop' ? await scheduler.stop(id, { graceMs, reason }) : await scheduler.kill(id, reason)
      if (record) json(res, 200, record)
      else json(res, 404, { error: `no task ${id}` })
    } catch (err) {
      json(res, 500, { error: (err as Error).message })
    }
  })()
  return true
}
