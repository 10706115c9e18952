import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { REPO_ROOT } from './util/node-entry.ts'

export const GAMEDAY_VERSION: string = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version
