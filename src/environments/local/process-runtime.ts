/**
 * The ECS stand-in's process runtime (the local environment): a task is a child process of the
 * supervisor — a TypeScript entry of this repository run with node, or any command — whose
 * output goes to logs/<task>.log and to the stand-in, line by line.
 */
import { spawn } from 'node:child_process'
import { createWriteStream } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import type { Readable } from 'node:stream'
import { freePort } from '../../util/ports.ts'
import { nodeCommand, REPO_ROOT } from '../../util/node-entry.ts'
import type { LineSink, RunningTask, TaskLaunch, TaskRuntime } from '../ecs/runtime.ts'
import type { TaskExit } from '../ecs/task.ts'

/** after its exit, how long a task's output may still be read (a grandchild can hold the pipe open) */
const OUTPUT_DRAIN_MS = 200

export interface ProcessRuntimeOptions {
  logsDir: string
  /** what every task inherits (the supervisor's own environment) */
  baseEnv: NodeJS.ProcessEnv
  /** told of every process started, before anything else: `env down` kills only what is recorded */
  started?(pid: number, argv: string[]): void
  /** an entry's compiled bundle, when there is one (entry-bundles.ts); else it runs with tsx */
  bundle?(entry: string): string | undefined
}

export class ProcessRuntime implements TaskRuntime {
  constructor(private readonly opts: ProcessRuntimeOptions) {}

  taskPort(): Promise<number> {
    return freePort()
  }

  async start(launch: TaskLaunch, lines: LineSink): Promise<RunningTask> {
    const def = launch.definition
    const bundle = def.entry ? this.opts.bundle?.(def.entry) : undefined
    const { command, args } = bundle
      ? { command: process.execPath, args: [bundle] }
      : def.entry
        ? nodeCommand(def.entry)
        : { command: launch.command![0], args: launch.command!.slice(1) }
    const child = spawn(command, args, {
      cwd: def.entry ? REPO_ROOT : (def.cwd ?? REPO_ROOT),
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...this.opts.baseEnv, ...launch.env },
    })
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve)
      child.once('error', (err) => reject(new Error(`${command}: ${(err as NodeJS.ErrnoException).code ?? err.message}`)))
    })
    this.opts.started?.(child.pid!, [command, ...args])
    const log = createWriteStream(join(this.opts.logsDir, `${launch.id}.log`), { flags: 'a' })
    const follow = (stream: Readable) => {
      const ended = new Promise<void>((resolve) => stream.once('close', resolve))
      createInterface({ input: stream }).on('line', (line) => {
        log.write(line + '\n')
        lines(line)
      })
      return ended
    }
    const outputs = Promise.all([follow(child.stdout!), follow(child.stderr!)])
    const exited = new Promise<TaskExit>((resolve) => {
      child.once('exit', (code, signal) => {
        const at = new Date().toISOString()
        // its last lines (the `stopped` report) come before the exit is told
        void Promise.race([outputs, new Promise((r) => setTimeout(r, OUTPUT_DRAIN_MS))]).then(() => {
          log.end()
          resolve({ code, signal, at })
        })
      })
    })
    return {
      pid: child.pid,
      host: '127.0.0.1',
      exited,
      signal: async (sig) => {
        if (child.exitCode === null && child.signalCode === null) child.kill(sig)
      },
    }
  }
}
