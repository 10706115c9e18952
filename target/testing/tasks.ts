/**
 * Test support: spawn real target tasks (`node --import tsx target/<entry>.ts`) exactly as a
 * supervisor does, parse their JSON-lines stdout, await log events instead of sleeping, and
 * kill every one of them afterwards (`killAllTasks()` in afterEach/afterAll), test failed or not.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { dirname, resolve } from 'node:path'
import { freePort } from '../../src/util/ports.ts'

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')

export type TaskEntry = 'gateway' | 'inventory' | 'player-state' | 'ai-integration'

const ENTRY_FILES: Record<TaskEntry, string> = {
  gateway: 'target/gateway.ts',
  inventory: 'target/services/inventory.ts',
  'player-state': 'target/services/player-state.ts',
  'ai-integration': 'target/services/ai-integration.ts',
}

export interface LogLine {
  event: string
  [key: string]: unknown
}

export interface Exit {
  code: number | null
  signal: NodeJS.Signals | null
  at: number
}

export interface Task {
  entry: TaskEntry
  taskId: string
  process: ChildProcess
  /** every JSON line logged so far */
  logs: LogLine[]
  /** stdout lines that were not JSON, and stderr */
  noise: string[]
  exited: Promise<Exit>
  /** resolves with the first log line matching, or rejects on timeout / exit */
  waitForLog(match: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>
  /** SIGTERM now; resolves on exit */
  terminate(): Promise<Exit>
  /** SIGKILL if still running; resolves on exit */
  kill(): Promise<Exit>
}

export interface GatewayTask extends Task {
  port: number
  url: string
}

const running = new Set<Task>()
let counter = 0

function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null
}

export async function spawnTask(entry: TaskEntry, env: Record<string, string>, opts: { waitReady?: boolean; readyTimeoutMs?: number } = {}): Promise<Task> {
  const taskId = env.TASK_ID ?? `${entry}-${++counter}`
  const child = spawn(process.execPath, ['--import', 'tsx', ENTRY_FILES[entry]], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, SERVICE: entry, TASK_ID: taskId, AZ: 'az-a', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const logs: LogLine[] = []
  const noise: string[] = []
  const waiters = new Set<{ match: (l: LogLine) => boolean; resolve: (l: LogLine) => void }>()
  let buffered = ''
  child.stdout!.setEncoding('utf8')
  child.stdout!.on('data', (chunk: string) => {
    buffered += chunk
    let nl: number
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const text = buffered.slice(0, nl)
      buffered = buffered.slice(nl + 1)
      let line: LogLine
      try {
        line = JSON.parse(text) as LogLine
      } catch {
        noise.push(text)
        continue
      }
      logs.push(line)
      for (const w of waiters) {
        if (w.match(line)) {
          waiters.delete(w)
          w.resolve(line)
        }
      }
    }
  })
  child.stderr!.setEncoding('utf8')
  child.stderr!.on('data', (chunk: string) => noise.push(chunk))
  const exited = new Promise<Exit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })))

  const describe = () => `${entry} ${taskId}: ${[...logs.slice(-5).map((l) => JSON.stringify(l)), ...noise.slice(-5)].join('\n')}`
  const waitForLog = (match: (l: LogLine) => boolean, timeoutMs = 15_000) => {
    const found = logs.find(match)
    if (found) return Promise.resolve(found)
    return new Promise<LogLine>((resolve, reject) => {
      const waiter = {
        match,
        resolve: (l: LogLine) => {
          clearTimeout(timer)
          resolve(l)
        },
      }
      const timer = setTimeout(() => {
        waiters.delete(waiter)
        reject(new Error(`timed out after ${timeoutMs}ms waiting for a log line from ${describe()}`))
      }, timeoutMs)
      waiters.add(waiter)
      void exited.then((exit) => {
        if (!waiters.has(waiter)) return
        // let a final line logged just before exit arrive first
        setImmediate(() => {
          if (!waiters.delete(waiter)) return
          clearTimeout(timer)
          reject(new Error(`exited (${exit.code ?? exit.signal}) before the awaited log line: ${describe()}`))
        })
      })
    })
  }
  const task: Task = {
    entry,
    taskId,
    process: child,
    logs,
    noise,
    exited,
    waitForLog,
    terminate() {
      if (isRunning(child)) child.kill('SIGTERM')
      return exited
    },
    kill() {
      if (isRunning(child)) child.kill('SIGKILL')
      return exited
    },
  }
  running.add(task)
  void exited.then(() => running.delete(task))
  if (opts.waitReady !== false) {
    try {
      await waitForLog((l) => l.event === 'ready', opts.readyTimeoutMs ?? 20_000)
    } catch (err) {
      await task.kill()
      throw err
    }
  }
  return task
}

export async function spawnGateway(env: Record<string, string>, opts: { waitReady?: boolean } = {}): Promise<GatewayTask> {
  const port = await freePort()
  const task = await spawnTask('gateway', { PORT: String(port), ...env }, opts)
  return Object.assign(task, { port, url: `http://127.0.0.1:${port}` })
}

/** SIGKILL every task still running (use in afterEach / afterAll). */
export async function killAllTasks(): Promise<void> {
  await Promise.all([...running].map((t) => t.kill()))
}

/** A JSON HTTP call with its status, headers and parsed body. */
export async function http(url: string, init: RequestInit & { json?: unknown } = {}): Promise<{ status: number; headers: Headers; body: any; ms: number }> {
  const started = Date.now()
  const { json, ...rest } = init
  const res = await fetch(url, {
    ...rest,
    ...(json !== undefined ? { body: JSON.stringify(json), headers: { 'content-type': 'application/json', ...(rest.headers as Record<string, string>) } } : {}),
  })
  const text = await res.text()
  let body: unknown = text
  try {
    body = JSON.parse(text)
  } catch {
    // not JSON
  }
  return { status: res.status, headers: res.headers, body, ms: Date.now() - started }
}
