/**
 * Classifies and decodes an ID for the parse endpoint. The results are the contract's
 * parse response bodies (snake_case, JSON-ready); the schemas let interfaces reuse them
 * for encoding and OpenAPI.
 *
 * Without a biz_tag: a UUID in text form → `uuid_v7` (with its timestamp) or `uuid_v4`
 * (other versions are not IDs of this service); a decimal string (no sign, no leading
 * zeros, at most 63 bits) → `snowflake` (the contract: a numeric ID without context).
 *
 * With a biz_tag, the ID must be one its algorithm or its fallback chain could have issued;
 * the first reading that fits, in this order, wins:
 * 1. `uuid_v7` / `uuid_v4`: a UUID of that version;
 * 2. `formatted`: a rendering of its format template whose counter lies in the eight
 *    datacenter ranges → the datacenter of its counter;
 * 3. `segment`: a decimal in one of the eight datacenter ranges (1 … 8R) → its datacenter.
 *    Before snowflake: snowflake IDs exceed 8R from ~38 s after the epoch on, so a value
 *    in the ranges is the segment's;
 * 4. `snowflake`: a decimal of at most 63 bits.
 * Anything else is `InvalidRequest` "not an id of this biz_tag", saying what each
 * algorithm of the chain issues.
 */
import { Result, Schema } from "effect"
import { InvalidRequest } from "./Errors.ts"
import * as Template from "./formatted/Template.ts"
import type { Algorithm } from "./Names.ts"
import { DATACENTER_COUNT, DEFAULT_RANGE_SIZE } from "./segment/DatacenterRange.ts"
import * as Layout from "./snowflake/Layout.ts"
import { parseUuid } from "./uuid/UuidText.ts"

export const SnowflakeInfo = Schema.Struct({
  id: Schema.String,
  algorithm: Schema.Literal("snowflake"),
  /** RFC 3339, UTC, millisecond precision. */
  timestamp: Schema.String,
  timestamp_ms: Schema.Int,
  datacenter_id: Schema.Int,
  worker_id: Schema.Int,
  sequence: Schema.Int
})
export type SnowflakeInfo = typeof SnowflakeInfo.Type

export const UuidInfo = Schema.Struct({
  id: Schema.String,
  algorithm: Schema.Literals(["uuid_v7", "uuid_v4"]),
  version: Schema.Int,
  /** v7 only: RFC 3339 of the embedded Unix ms. */
  timestamp: Schema.optionalKey(Schema.String)
})
export type UuidInfo = typeof UuidInfo.Type

export const SegmentInfo = Schema.Struct({
  id: Schema.String,
  algorithm: Schema.Literal("segment"),
  datacenter_id: Schema.Int
})
export type SegmentInfo = typeof SegmentInfo.Type

export const FormattedInfo = Schema.Struct({
  id: Schema.String,
  algorithm: Schema.Literal("formatted"),
  /** The datacenter whose range its counter came from. */
  datacenter_id: Schema.Int
})
export type FormattedInfo = typeof FormattedInfo.Type

export const IdInfo = Schema.Union([SnowflakeInfo, UuidInfo, SegmentInfo, FormattedInfo])
export type IdInfo = typeof IdInfo.Type

export interface ParseContext {
  /** The algorithm configured for the request's biz_tag, when the request named one. */
  readonly algorithm?: Algorithm | undefined
  /** The biz_tag's fallback chain, when the request named one. */
  readonly fallback?: ReadonlyArray<Algorithm> | undefined
  /** The biz_tag's format template (null: none), when the request named one. */
  readonly formatTemplate?: string | null | undefined
  /** The cluster's snowflake epoch (default 2024-01-01). */
  readonly epochMs?: number | undefined
  /** The segment range size R (default `DatacenterRange.DEFAULT_RANGE_SIZE`, 2^50 - 1). */
  readonly rangeSize?: number | undefined
}

/** Longer than any ID this service issues (a formatted one is at most a few hundred chars). */
const MAX_ID_LENGTH = 512
const uuidShape = /^[0-9a-fA-F]{8}-/
const digits = /^[0-9]+$/

const notAnId = (id: string, message: string): Result.Result<never, InvalidRequest> =>
  Result.fail(new InvalidRequest({ message, details: { id } }))

const rfc3339 = (ms: number): string => new Date(ms).toISOString()

/** The most digits a counter has: 8R ≤ 2^53 has at most 16. */
const MAX_COUNTER_DIGITS = 16

/**
 * `id` read as a rendering of `template` (formatted info), or undefined when it cannot be
 * one: not its shape, or a counter outside the eight datacenter ranges.
 */
const readFormatted = (id: string, template: string, rangeSize: number): FormattedInfo | undefined => {
  const compiled = Template.compile(template)
  if (Result.isFailure(compiled)) return undefined
  const seq = Template.read(compiled.success, id, MAX_COUNTER_DIGITS)
  if (seq === undefined) return undefined
  const value = Number(seq)
  if (value > DATACENTER_COUNT * rangeSize) return undefined
  return { id, algorithm: "formatted", datacenter_id: Math.floor((value - 1) / rangeSize) }
}

/** The parse response for `id`. */
export const parseId = (id: string, context: ParseContext = {}): Result.Result<IdInfo, InvalidRequest> => {
  if (id.length === 0 || id.length > MAX_ID_LENGTH) return notAnId(id.slice(0, 64), "not an id")
  const epochMs = context.epochMs ?? Layout.DEFAULT_EPOCH_MS
  if (context.algorithm === undefined) {
    if (id.length === 36 && uuidShape.test(id)) return parseUuidId(id)
    if (!digits.test(id)) return notAnId(id, "not an id: expected a UUID or a decimal number")
    return Result.map(Layout.parse(id), (n) => snowflakeInfo(id, n, epochMs))
  }
  const chain = new Set([context.algorithm, ...(context.fallback ?? [])])
  const rangeSize = context.rangeSize ?? DEFAULT_RANGE_SIZE
  const template = context.formatTemplate ?? undefined
  const uuid = id.length === 36 && uuidShape.test(id) ? Result.getOrUndefined(parseUuidId(id)) : undefined
  if (uuid !== undefined && chain.has(uuid.algorithm)) return Result.succeed(uuid)
  if (chain.has("formatted") && template !== undefined) {
    const formatted = readFormatted(id, template, rangeSize)
    if (formatted !== undefined) return Result.succeed(formatted)
  }
  // ≤ 16 digits keeps Number() exact (8R ≤ 2^53 has at most 16 digits).
  if (chain.has("segment") && digits.test(id) && id.length <= 16 && id[0] !== "0") {
    const value = Number(id)
    if (value <= DATACENTER_COUNT * rangeSize) {
      return Result.succeed({ id, algorithm: "segment", datacenter_id: Math.floor((value - 1) / rangeSize) })
    }
  }
  if (chain.has("snowflake")) {
    const snowflake = Layout.parse(id)
    if (Result.isSuccess(snowflake)) return Result.succeed(snowflakeInfo(id, snowflake.success, epochMs))
  }
  const expected = {
    segment: `it is not a segment id (a decimal from 1 to ${DATACENTER_COUNT * rangeSize})`,
    snowflake: "it is not a snowflake id (a decimal of at most 63 bits)",
    uuid_v7: "it is not a UUID of version 7",
    uuid_v4: "it is not a UUID of version 4",
    formatted: `it does not match its format template ${template ?? "(none)"}`
  } satisfies Record<Algorithm, string>
  return notAnId(id, `not an id of this biz_tag: ${Array.from(chain, (algorithm) => expected[algorithm]).join("; ")}`)
}

const snowflakeInfo = (id: string, n: bigint, epochMs: number): SnowflakeInfo => {
  const parts = Layout.decompose(n, epochMs)
  return {
    id,
    algorithm: "snowflake",
    timestamp: rfc3339(parts.timestampMs),
    timestamp_ms: parts.timestampMs,
    datacenter_id: parts.datacenterId,
    worker_id: parts.workerId,
    sequence: parts.sequence
  }
}

const parseUuidId = (id: string): Result.Result<UuidInfo, InvalidRequest> =>
  Result.flatMap(parseUuid(id), (info): Result.Result<UuidInfo, InvalidRequest> => {
    if (info.version === 7 && info.timestampMs !== undefined) {
      return Result.succeed({ id, algorithm: "uuid_v7", version: 7, timestamp: rfc3339(info.timestampMs) })
    }
    if (info.version === 4) return Result.succeed({ id, algorithm: "uuid_v4", version: 4 })
    return notAnId(id, `UUID version ${info.version} is not issued by this service`)
  })
