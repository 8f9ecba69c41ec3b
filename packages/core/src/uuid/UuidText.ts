/**
 * The RFC 9562 text form: `xxxxxxxx-xxxx-Vxxx-Nxxx-xxxxxxxxxxxx`, lowercase hex on output
 * (RFC 9562 §4), either case accepted on input. Holds the shared hex lookup tables of
 * the generators and the parser used by the parse endpoint.
 */
import { Result } from "effect"
import { InvalidRequest } from "../Errors.ts"

/** `HEX2[b]`: the two lowercase hex digits of byte `b`. */
export const HEX2: ReadonlyArray<string> = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"))

/** Lowercase hex of a value of `digits` hex digits, zero-padded. Not for hot paths. */
export const hex = (value: number, digits: number): string => value.toString(16).padStart(digits, "0")

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

export interface UuidInfo {
  /** The version nibble, 1–8 (4 and 7 are the ones this service issues). */
  readonly version: number
  /** For v7 only: the embedded Unix milliseconds (48 bits). */
  readonly timestampMs?: number
}

/**
 * Parses a UUID in text form. Fails unless it is well-formed with the RFC 9562 variant
 * (`10xx`), so the Nil and Max UUIDs and legacy variants are rejected.
 */
export const parseUuid = (s: string): Result.Result<UuidInfo, InvalidRequest> => {
  if (!uuidPattern.test(s)) {
    return Result.fail(new InvalidRequest({ message: "not a UUID in RFC 9562 text form", details: { id: s } }))
  }
  const variant = parseInt(s[19]!, 16)
  if ((variant & 0b1100) !== 0b1000) {
    return Result.fail(new InvalidRequest({ message: "not an RFC 9562 variant UUID", details: { id: s } }))
  }
  const version = parseInt(s[14]!, 16)
  if (version < 1 || version > 8) {
    return Result.fail(new InvalidRequest({ message: "UUID version not defined by RFC 9562", details: { id: s } }))
  }
  return Result.succeed(
    version === 7 ? { version, timestampMs: parseInt(s.slice(0, 8) + s.slice(9, 13), 16) } : { version }
  )
}
