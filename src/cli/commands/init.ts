/**
 * `gameday init [dir]`: a commented starting point for your own system — environments/local.yaml
 * (a NATS cluster on this machine, with your services and caches sketched in comments) and a
 * first experiment (kill one node, the cluster must heal). It asks only on a terminal, and never
 * overwrites a file that exists.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createInterface } from 'node:readline/promises'
import { dirname, join, relative, resolve } from 'node:path'
import { InvalidArgumentError, type Command } from 'commander'
import { randomSeed } from '../../util/rng.ts'
import { REPO_ROOT } from '../../util/node-entry.ts'
import { onRun } from '../command.ts'
import { CliError } from '../errors.ts'
import { log, relativeToCwd } from '../output.ts'

const TEMPLATES = join(REPO_ROOT, 'templates', 'init')
const AZS = ['az-a', 'az-b', 'az-c']
const DEFAULT_NAME = 'first-gameday'
const DEFAULT_NODES = 3

interface Options {
  name?: string
  nodes?: number
  yes?: boolean
}

export interface InitChoices {
  name: string
  nodes: number
  seed: number
}

function parseName(value: string): string {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(value))
    throw new InvalidArgumentError(`a name is lower-case letters, digits and dashes (it names the file), got ${JSON.stringify(value)}`)
  return value
}

function parseNodes(value: string): number {
  const n = /^\d+$/.test(value.trim()) ? Number(value) : Number.NaN
  // a game day kills a node and expects the cluster to stay up: that needs a majority left
  if (!Number.isInteger(n) || n < 3 || n > 15)
    throw new InvalidArgumentError(`a cluster that survives losing a node has 3 to 15 nodes, got ${JSON.stringify(value)}`)
  return n
}

/** the two files, filled in from the templates */
export function initFiles(dir: string, choices: InitChoices): { path: string; text: string }[] {
  const experimentPath = join(dir, 'experiments', `${choices.name}.yaml`)
  const schema = relative(dirname(experimentPath), join(REPO_ROOT, 'experiments', 'schema.json'))
  const nodes = Array.from({ length: choices.nodes }, (_, i) => `      - { name: n${i + 1}, az: ${AZS[i % AZS.length]} }\n`).join('')
  const environment = readFileSync(join(TEMPLATES, 'local.yaml'), 'utf8').replace(/^( {6}- \{ name: n\d+, az: [a-z0-9-]+ \}\n)+/m, nodes)
  const experiment = readFileSync(join(TEMPLATES, 'experiment.yaml'), 'utf8')
    .replace(/\$schema=\S+/, `$schema=${schema}`)
    .replaceAll(`experiments/${DEFAULT_NAME}.yaml`, relative(dir, experimentPath))
    .replace(/^name: .*$/m, `name: ${choices.name}`)
    .replace(/^seed: \d+/m, `seed: ${choices.seed}`)
  return [
    { path: join(dir, 'environments', 'local.yaml'), text: environment },
    { path: experimentPath, text: experiment },
  ]
}

async function ask(opts: Options): Promise<{ name: string; nodes: number }> {
  const rl = createInterface({ input: process.stdin, output: process.stdout })
  // Ctrl-C or Ctrl-D at a question: stop there, having written nothing
  const stop = new AbortController()
  rl.on('SIGINT', () => stop.abort())
  rl.on('close', () => stop.abort())
  try {
    const question = async <T>(q: string, fallback: T, parse: (v: string) => T): Promise<T> => {
      for (;;) {
        let answer: string
        try {
          answer = (await rl.question(q, { signal: stop.signal })).trim()
        } catch (err) {
          throw new CliError('no answer: nothing was written', { hint: '`gameday init --yes` takes the defaults without asking', cause: err })
        }
        if (!answer) return fallback
        try {
          return parse(answer)
        } catch (err) {
          log.warn(`  ${(err as Error).message}`)
        }
      }
    }
    const name = opts.name ?? (await question(`Name of the first experiment [${DEFAULT_NAME}]: `, DEFAULT_NAME, parseName))
    const nodes = opts.nodes ?? (await question(`NATS nodes in the local cluster [${DEFAULT_NODES}]: `, DEFAULT_NODES, parseNodes))
    return { name, nodes }
  } finally {
    rl.close()
  }
}

export function define(cmd: Command): void {
  cmd
    .argument('[dir]', 'your project’s folder', '.')
    .option('--name <name>', `name of the first experiment (default ${DEFAULT_NAME})`, parseName)
    .option('--nodes <n>', `NATS nodes in the local cluster (default ${DEFAULT_NODES})`, parseNodes)
    .option('-y, --yes', 'ask nothing: take the defaults (the default off a terminal)')
  onRun(cmd, async (dirArg: string, opts: Options) => {
    const dir = resolve(dirArg)
    const interactive = !opts.yes && process.stdin.isTTY && process.stdout.isTTY
    const { name, nodes } = interactive ? await ask(opts) : { name: opts.name ?? DEFAULT_NAME, nodes: opts.nodes ?? DEFAULT_NODES }
    const written: string[] = []
    for (const file of initFiles(dir, { name, nodes, seed: randomSeed() })) {
      mkdirSync(dirname(file.path), { recursive: true })
      try {
        writeFileSync(file.path, file.text, { flag: 'wx' }) // never overwrite
        written.push(file.path)
        log.info(`wrote ${relativeToCwd(file.path)}`)
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
        log.info(`kept ${relativeToCwd(file.path)}: it exists (gameday init never overwrites a file)`)
      }
    }
    const experiment = relativeToCwd(join(dir, 'experiments', `${name}.yaml`))
    if (!written.length) {
      throw new CliError('nothing written: both files exist', { hint: `--name NAME writes another experiment; or run it: npx gameday run ${experiment}` })
    }
    log.info(
      [
        '',
        'next:',
        `  npx gameday validate ${experiment}   check it, touching nothing`,
        `  npx gameday plan ${experiment}       what it would do`,
        `  npx gameday run ${experiment}        do it (needs nats-server on the PATH)`,
        'and add .gameday/ and reports/ to your .gitignore',
      ].join('\n'),
    )
  })
}
