/**
 * A faster encoder for `BatchGenerateResponse`, the one message that grows with the request
 * (up to 10 000 IDs) and the server's hottest serialisation. Its bytes are exactly the
 * generated encoder's (test/grpc/BatchCodec.test.ts compares them); only the work differs:
 * one reused scratch buffer and one native write per ID instead of the generated writer's
 * chunk list and JS UTF-8 encoder — about half the CPU for 1000 IDs. (A decoder along the
 * same lines gained nothing measurable: decoding is dominated by allocating the strings.)
 */
import type { BatchGenerateResponse } from "../gen/idgen/v1/idgen.ts"

let scratch = Buffer.allocUnsafe(64 * 1024)

const varint = (buf: Buffer, pos: number, value: number): number => {
  while (value > 0x7f) {
    buf[pos++] = (value & 0x7f) | 0x80
    value >>>= 7
  }
  buf[pos++] = value
  return pos
}

const varintSize = (value: number): number => (value < 0x80 ? 1 : value < 0x4000 ? 2 : value < 0x200000 ? 3 : value < 0x10000000 ? 4 : 5)

/**
 * Writes a length-delimited string field. One byte is reserved for the length (IDs are
 * short); a longer value shifts its text to make room for the longer varint.
 */
const stringField = (buf: Buffer, pos: number, tag: number, value: string, ascii: boolean): number => {
  buf[pos++] = tag
  const written = buf.write(value, pos + 1, ascii ? "latin1" : "utf8")
  if (written < 0x80) {
    buf[pos] = written
    return pos + 1 + written
  }
  const size = varintSize(written)
  buf.copyWithin(pos + size, pos + 1, pos + 1 + written)
  varint(buf, pos, written)
  return pos + size + written
}

/**
 * IDs of every algorithm but `formatted` are ASCII by construction (decimal digits, UUID
 * hex); those are written byte per character. Formatted IDs may carry any literal of their
 * template, so they get real UTF-8.
 */
export const encodeBatchGenerateResponse = (message: BatchGenerateResponse): Buffer => {
  const ids = message.ids
  const ascii = message.algorithm !== "formatted"
  // UTF-8 needs at most 3 bytes per UTF-16 unit; a tag and a 5-byte length per field.
  let bound = 6 * 3 + 3 * message.algorithm.length
  for (let i = 0; i < ids.length; i++) bound += 6 + 3 * ids[i]!.length
  if (scratch.length < bound) scratch = Buffer.allocUnsafe(Math.max(bound, scratch.length * 2))
  const buf = scratch
  let pos = 0
  for (let i = 0; i < ids.length; i++) pos = stringField(buf, pos, 10, ids[i]!, ascii)
  if (message.algorithm !== "") pos = stringField(buf, pos, 18, message.algorithm, false)
  if (message.count !== 0) {
    buf[pos++] = 24
    pos = varint(buf, pos, message.count >>> 0)
  }
  // A copy: grpc-js writes the frame later, and the scratch buffer is reused.
  return Buffer.from(buf.subarray(0, pos))
}
