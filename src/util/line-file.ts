/**
 * An append-only text file of lines, written in blocks with synchronous writes, so that the order
 * of lines in the file is the order of the calls — what history files (durability, CAS) need.
 */
import { closeSync, openSync, writeSync } from 'node:fs'

const BLOCK_BYTES = 65536

export class LineFileWriter {
  private fd: number | undefined
  private pending: string[] = []
  private pendingBytes = 0

  /** `what` names the file in errors ("writer", "history") */
  constructor(
    readonly path: string,
    flags: 'w' | 'a',
    private readonly what = 'writer',
  ) {
    this.fd = openSync(path, flags)
  }

  protected get closed(): boolean {
    return this.fd === undefined
  }

  comment(text: string): void {
    for (const line of text.split('\n')) this.append(`# ${line}\n`)
  }

  flush(): void {
    if (this.fd === undefined) throw new Error(`${this.path}: ${this.what} is closed`)
    if (this.pending.length === 0) return
    writeSync(this.fd, this.pending.join(''))
    this.pending = []
    this.pendingBytes = 0
  }

  close(): void {
    if (this.fd === undefined) return
    this.flush()
    closeSync(this.fd)
    this.fd = undefined
  }

  /** `line` ends with its newline */
  protected append(line: string): void {
    if (this.fd === undefined) throw new Error(`${this.path}: ${this.what} is closed`)
    this.pending.push(line)
    this.pendingBytes += line.length
    if (this.pendingBytes >= BLOCK_BYTES) this.flush()
  }
}
