/**
 * Classifies and decodes an ID for the parse endpoint. The results are the contract's
 * parse response bodies (snake_case, JSON-ready); the schemas let interfaces reuse them
 * for encoding and OpenAPI.
 *
 * Classification, first match wins:
 * 1. UUID text form → `uuid_v7` (with its timestamp) or `uuid_v4`; other versions are
 *    not IDs of this service.
 * 2. With the biz_tag's format template known (formatted in its chain): a rendering of the
 *    template whose counter lies in the eight datacenter ranges → `formatted` with the
 *    datacenter of its counter. When formatted is the biz_tag's algorithm, anything else
 *    that is not an ID of its fallback chain is `InvalidRequest`: it cannot be one of its IDs.
 * 3. A decimal string (no sign, no leading zeros):
 *    - segment is in the biz_tag's chain and the value lies in one of the eight datacenter
 *      ranges (1 … 8R) → `segment` with its datacenter. A larger value is decoded as
 *      snowflake instead: it came through the fallback chain (snowflake IDs exceed 8R
 *      from ~38 s after the epoch on, so the two never overlap in practice);
 *    - otherwise → `snowflake` (the contract: a numeric ID without context).
 * 4. Anything else → `InvalidRequest`.
 */
import { Result, Schema } from "effect"
import { InvalidRequest } from "./Errors.ts"
import * as Template from "./formatted/Template.ts"
import type { Algorithm } from "./Names.ts"
import { DATACENTER_COUNT, DEFAULT_RANGE_SIZE } from "./segment/DatacenterRange.ts"
import * as Layout from "./snowflake/Layout.ts"
import { parseUuid } from "./uuid/UuidText.ts"

/** Algorithms whose IDs are decimal numbers. */
const isDecimal = (algorithm: Algorithm): boolean => algorithm === "segment" || algorithm === "snowflake"

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
  const rangeSize = context.rangeSize ?? DEFAULT_RANGE_SIZE
  const template = context.formatTemplate ?? undefined
  const chain = context.algorithm === undefined ? [] : [context.algorithm, ...(context.fallback ?? [])]
  if (id.length === 36 && uuidShape.test(id)) {
    const uuid = parseUuidId(id)
    // A formatted template may happen to produce something UUID-shaped.
    if (Result.isSuccess(uuid) || template === undefined) return uuid
  }
  if (template !== undefined) {
    const formatted = readFormatted(id, template, rangeSize)
    if (formatted !== undefined) return Result.succeed(formatted)
    if (context.algorithm === "formatted" && !(digits.test(id) && chain.some(isDecimal))) {
      return notAnId(id, `not an id of this biz_tag: it does not match its format template ${template}`)
    }
  }
  if (!digits.test(id)) return notAnId(id, "not an id: expected a UUID or a decimal number")
  if (chain.includes("segment")) {
    // ≤ 16 digits keeps Number() exact (8R ≤ 2^53 has at most 16 digits).
    if (id.length <= 16 && id[0] !== "0") {
      const value = Number(id)
      if (value <= DATACENTER_COUNT * rangeSize) {
        return Result.succeed({ id, algorithm: "segment", datacenter_id: Math.floor((value - 1) / rangeSize) })
      }
    }
  }
  return Result.map(Layout.parse(id), (n): SnowflakeInfo => {
    const parts = Layout.decompose(n, context.epochMs ?? Layout.DEFAULT_EPOCH_MS)
    return {
      id,
      algorithm: "snowflake",
      timestamp: rfc3339(parts.timestampMs),
      timestamp_ms: parts.timestampMs,
      datacenter_id: parts.datacenterId,
      worker_id: parts.workerId,
      sequence: parts.sequence
    }
  })
}

const parseUuidId = (id: string): Result.Result<UuidInfo, InvalidRequest> =>
  Result.flatMap(parseUuid(id), (info): Result.Result<UuidInfo, InvalidRequest> => {
    if (info.version === 7 && info.timestampMs !== undefined) {
      return Result.succeed({ id, algorithm: "uuid_v7", version: 7, timestamp: rfc3339(info.timestampMs) })
    }
    if (info.version === 4) return Result.succeed({ id, algorithm: "uuid_v4", version: 4 })
    return notAnId(id, `UUID version ${info.version} is not issued by this service`)
  })
