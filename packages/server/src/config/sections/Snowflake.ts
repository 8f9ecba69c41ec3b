import { Snowflake } from "@idgen/core"
import { IntBetween, NumberFromText } from "../SchemaHelpers.ts"
import * as Section from "../Section.ts"
import * as Setting from "../Setting.ts"

/** An epoch as configured: an ISO 8601 date or Unix milliseconds; undefined when it is neither. */
export const epochMillis = (epoch: string): number | undefined => {
  const ms = /^\d+$/.test(epoch) ? Number(epoch) : Date.parse(epoch)
  return Number.isFinite(ms) && ms >= 0 ? ms : undefined
}

/** The file's epoch text → Unix ms. */
const EpochMillis = NumberFromText(epochMillis, (ms) => new Date(ms).toISOString(), "not a date or Unix ms")

export const section = Section.make("snowflake", {
  epochMs: Setting.make("epoch", EpochMillis, {
    default: new Date(Snowflake.DEFAULT_EPOCH_MS).toISOString(),
    doc: "Epoch of snowflake timestamps (RFC 3339 or Unix ms); pinned for the cluster at first start (idgen cluster pin)"
  }),
  clockWaitThresholdMillis: Setting.make("clock_wait_threshold_ms", IntBetween(0, 1000), {
    default: 5,
    doc: "Clock behind by at most this → the request waits"
  }),
  clockLogicalThresholdMillis: Setting.make("clock_logical_threshold_ms", IntBetween(0, 60_000), {
    default: 1000,
    doc: "Clock behind by at most this → logical clock; beyond → IDGEN-SNOW-2001"
  }),
  ceilingWindowMillis: Setting.make("ceiling_window_ms", IntBetween(1000, 3_600_000), {
    default: 10_000,
    doc: "How far ahead the timestamp ceiling of a worker id (leased or static) is reserved"
  }),
  staticHoldTimeoutMillis: Setting.make("static_hold_timeout_ms", IntBetween(1000, 600_000), {
    default: 10_000,
    doc: "A static worker id whose holder's heartbeat is older than this (database time) may be taken over by another node configured with it"
  }),
  staticCeilingWaitMillis: Setting.make("static_ceiling_wait_ms", IntBetween(0, 3_600_000), {
    default: 20_000,
    doc: "At start, a static worker id waits at most this long for the clock to pass its recorded ceiling; beyond, IDGEN-SNOW-2001 (fallbacks serve) until the clock is within the tolerated drift"
  })
}, (snowflake) =>
  snowflake.clockWaitThresholdMillis <= snowflake.clockLogicalThresholdMillis ? snowflake : Section.refuse({
    message: `snowflake.clock_wait_threshold_ms (${snowflake.clockWaitThresholdMillis}) must not exceed ` +
      `snowflake.clock_logical_threshold_ms (${snowflake.clockLogicalThresholdMillis}) ` +
      "(IDGEN_SNOWFLAKE_CLOCK_WAIT_THRESHOLD_MS, IDGEN_SNOWFLAKE_CLOCK_LOGICAL_THRESHOLD_MS)"
  }))
