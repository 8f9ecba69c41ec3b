/**
 * An append-only text file written in large synchronous chunks: lines are buffered and
 * written when the buffer passes 256 KiB, so writing every ID costs one system call per
 * few thousand IDs and the buffer stays bounded.
 */
import { closeSync, openSync, writeSync } from "node:fs"

const FLUSH_AT = 1 << 18

export class LineFile {
  private readonly fd: number
  private pending = ""
  bytes = 0

  readonly path: string

  constructor(path: string) {
    this.path = path
    this.fd = openSync(path, "w")
  }

  /** Appends `text` (one or more complete lines). */
  write(text: string) {
    this.pending += text
    if (this.pending.length >= FLUSH_AT) this.flush()
  }

  flush() {
    if (this.pending.length === 0) return
    this.bytes += writeSync(this.fd, this.pending)
    this.pending = ""
  }

  close() {
    this.flush()
    closeSync(this.fd)
  }
}
