/**
 * A faster encoder for `BatchGenerateResponse`, the one message that grows with the request
 * (up to 10 000 IDs) and the server's hottest serialisation. Its bytes are exactly the
 * generated encoder's (packages/protocol/test/BatchCodec.test.ts compares them); only the
 * work differs.
 *
 * IDs of every algorithm but `formatted` are ASCII by construction (decimal digits, UUID
 * hex) and shorter than 128 bytes, so each field is the tag byte, a one-byte length and the
 * ID's characters: the whole message is built as one latin1 string (every char one byte)
 * and copied into a Buffer once: ≈ 25 µs per 1000 IDs, against ≈ 45–50 µs writing each ID
 * into a scratch buffer with its own native call and ≈ 90–105 µs for the generated writer
 * (chunk list, JS UTF-8 encoder). Formatted IDs may carry any literal of their template and
 * take the generated encoder. (A decoder along the same lines gained nothing measurable:
 * decoding is dominated by allocating the strings.)
 */
import { BatchGenerateResponse } from "../gen/idgen/v1/idgen.ts"

/** Field 1 (`ids`, wire type 2) and a one-byte length, for each length a one-byte varint holds. */
const idPrefix = Array.from({ length: 0x80 }, (_, length) => String.fromCharCode(10, length))

const varintChars = (value: number): string => {
  let text = ""
  while (value > 0x7f) {
    text += String.fromCharCode((value & 0x7f) | 0x80)
    value >>>= 7
  }
  return text + String.fromCharCode(value)
}

const generated = (message: BatchGenerateResponse): Buffer => {
  const bytes = BatchGenerateResponse.encode(message).finish()
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

export const encodeBatchGenerateResponse = (message: BatchGenerateResponse): Buffer => {
  const { algorithm, ids } = message
  if (algorithm === "formatted" || algorithm.length > 0x7f) return generated(message)
  let text = ""
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!
    const prefix = idPrefix[id.length]
    if (prefix === undefined) return generated(message)
    text += prefix + id
  }
  if (algorithm !== "") text += String.fromCharCode(18, algorithm.length) + algorithm
  if (message.count !== 0) text += "\x18" + varintChars(message.count >>> 0)
  return Buffer.from(text, "latin1")
}
