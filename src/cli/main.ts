/**
 * The `gameday` executable (bin/gameday.js starts it). Exit codes: src/cli/exit-codes.ts, printed
 * by `gameday --help`.
 */
import { runCli } from './cli.ts'

// The AWS SDK warns on every start that Node 20 support ends in 2027; once in the README is enough.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'

// A reader that goes away (`gameday list | head`) is no error of ours, and must not stop a run
// half-way with its faults in place: what is left to print is dropped, the command goes on.
for (const stream of [process.stdout, process.stderr])
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err
  })

const code = await runCli(process.argv.slice(2))
// Exit rather than wait for the event loop to empty (a command may leave client connections
// behind), but only once what was written has left: pipes are asynchronous on some systems.
const flushed = (stream: NodeJS.WriteStream) => new Promise<void>((resolve) => stream.write('', () => resolve()))
await Promise.all([flushed(process.stdout), flushed(process.stderr)])
process.exit(code)
