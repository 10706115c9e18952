/**
 * The tests' own Ryuk: a detached process that waits for a test process to die — finished,
 * failed, interrupted by Ctrl-C or killed — and then removes every test environment whose id
 * that process made (`test-<pid>-…`), containers and network, by label.
 *
 *   node --import tsx test/containers/reaper.ts <pid>
 */
import { dockerClient, LABEL, removeLabelled } from '../../src/environments/containers/docker.ts'

const pid = Number(process.argv[2])
if (!Number.isInteger(pid) || pid <= 0) throw new Error('usage: reaper.ts <pid>')

const alive = () => {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

while (alive()) await new Promise((r) => setTimeout(r, 500))
const { docker } = await dockerClient()
await removeLabelled(docker, (l) => (l[LABEL.env] ?? '').startsWith(`test-${pid}-`))
