import { createServer, connect, type Server } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { Balancer } from './balancer.ts'

interface Task {
  id: string
  state: string
  port?: number
}

const servers: Server[] = []
afterEach(() => {
  for (const s of servers.splice(0)) s.close()
})

/** A task that answers every connection with its id, then echoes. */
async function task(id: string): Promise<number> {
  const server = createServer((socket) => {
    socket.write(`${id}\n`)
    socket.pipe(socket)
  })
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  return (server.address() as { port: number }).port
}

/** Connects through the balancer; resolves with everything received until the server closes or `until` matches. */
function exchange(port: number, send?: string, until?: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port })
    let got = ''
    socket.on('connect', () => send !== undefined && socket.write(send))
    socket.on('data', (d) => {
      got += d
      if (until?.test(got)) {
        socket.destroy()
        resolve(got)
      }
    })
    socket.on('end', () => resolve(got))
    socket.on('error', reject)
  })
}

async function balancerFor(tasks: Task[]): Promise<{ port: number; balancer: Balancer<Task> }> {
  const balancer = new Balancer<Task>({ tasks: () => tasks, address: (t) => (t.port ? { host: '127.0.0.1', port: t.port } : undefined) })
  const server = await balancer.listen(0, '127.0.0.1')
  servers.push(server)
  return { port: (server.address() as { port: number }).port, balancer }
}

describe('the round-robin TCP balancer', () => {
  it('routes to RUNNING tasks with an address only, in turn, and pipes both ways', async () => {
    const tasks: Task[] = [
      { id: 'a', state: 'RUNNING', port: await task('a') },
      { id: 'b', state: 'PENDING', port: await task('b') },
      { id: 'c', state: 'DRAINING', port: await task('c') },
      { id: 'd', state: 'RUNNING', port: await task('d') },
      { id: 'e', state: 'RUNNING' },
      { id: 'f', state: 'STOPPED', port: await task('f') },
    ]
    const { port } = await balancerFor(tasks)
    const served: string[] = []
    for (let i = 0; i < 4; i++) served.push((await exchange(port, undefined, /\n/)).trim())
    expect(served).toEqual(['a', 'd', 'a', 'd'])
    expect(await exchange(port, 'ping\n', /ping\n/)).toMatch(/^[ad]\nping\n$/)
  })

  it('answers 503 and closes when no task is ready, and routes again once one is', async () => {
    const tasks: Task[] = [{ id: 'a', state: 'PENDING', port: await task('a') }]
    const { port } = await balancerFor(tasks)
    expect(await exchange(port)).toMatch(/^HTTP\/1\.1 503 Service Unavailable\r\n/)
    tasks[0].state = 'RUNNING'
    expect(await exchange(port, undefined, /\n/)).toBe('a\n')
  })

  it('closes the client when its task goes away, and stops accepting on close()', async () => {
    const upstream = createServer((socket) => socket.destroy())
    servers.push(upstream)
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', () => resolve()))
    const { port, balancer } = await balancerFor([{ id: 'x', state: 'RUNNING', port: (upstream.address() as { port: number }).port }])
    expect(await exchange(port, 'hello')).toBe('')
    balancer.close()
    await expect(exchange(port)).rejects.toThrow(/ECONNREFUSED/)
  })
})
