/** How commands print: results on stdout, warnings and errors on stderr, paths relative to the working directory. */
import { relative, isAbsolute } from 'node:path'
import type { Logger } from '../api/environment.ts'

export const log: Logger = {
  info: (m) => process.stdout.write(m + '\n'),
  warn: (m) => process.stderr.write(m + '\n'),
}

/** `reports/x` rather than `/home/me/project/reports/x` when it is under the working directory */
export function relativeToCwd(file: string): string {
  if (!isAbsolute(file)) return file
  const rel = relative(process.cwd(), file)
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : file
}
