import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { load } from "@idgen/server/config/ConfigLoader"

describe("snowflake and etcd settings", () => {
  it.effect("defaults: 30 s lease, 5 s fencing margin, 5 / 1000 ms clock thresholds, 10 s ceiling window", () =>
    Effect.gen(function*() {
      const config = yield* load({})
      assert.deepStrictEqual(config.etcd, {
        endpoints: [],
        prefix: "/idgen",
        leaseTtlSeconds: 30,
        fencingMarginMillis: 5000,
        requestTimeoutMillis: 2000
      })
      assert.strictEqual(config.snowflake.clockWaitThresholdMillis, 5)
      assert.strictEqual(config.snowflake.clockLogicalThresholdMillis, 1000)
      assert.strictEqual(config.snowflake.ceilingWindowMillis, 10_000)
    }))

  it.effect("environment overrides", () =>
    Effect.gen(function*() {
      const config = yield* load({
        IDGEN_ETCD_ENDPOINTS: "http://127.0.0.1:2379, http://127.0.0.1:22379",
        IDGEN_ETCD_PREFIX: "/tenant-a/idgen",
        IDGEN_ETCD_LEASE_TTL_SECONDS: "9",
        IDGEN_ETCD_FENCING_MARGIN_MS: "2000",
        IDGEN_ETCD_REQUEST_TIMEOUT_MS: "700",
        IDGEN_SNOWFLAKE_CLOCK_WAIT_THRESHOLD_MS: "2",
        IDGEN_SNOWFLAKE_CLOCK_LOGICAL_THRESHOLD_MS: "500",
        IDGEN_SNOWFLAKE_CEILING_WINDOW_MS: "3000"
      })
      assert.deepStrictEqual(config.etcd, {
        endpoints: ["http://127.0.0.1:2379", "http://127.0.0.1:22379"],
        prefix: "/tenant-a/idgen",
        leaseTtlSeconds: 9,
        fencingMarginMillis: 2000,
        requestTimeoutMillis: 700
      })
      assert.strictEqual(config.snowflake.clockWaitThresholdMillis, 2)
      assert.strictEqual(config.snowflake.clockLogicalThresholdMillis, 500)
      assert.strictEqual(config.snowflake.ceilingWindowMillis, 3000)
    }))

  it.effect("the default fencing margin is a sixth of a short TTL", () =>
    Effect.gen(function*() {
      const config = yield* load({ IDGEN_ETCD_LEASE_TTL_SECONDS: "3" })
      assert.strictEqual(config.etcd.fencingMarginMillis, 500)
    }))

  const rejects = (env: Record<string, string>, pattern: RegExp) =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(load(env))
      assert.strictEqual(error._tag, "ConfigInvalid")
      assert.match(error.message, pattern)
    })

  it.effect("a fencing margin that leaves no room for keep-alives is refused", () =>
    rejects({ IDGEN_ETCD_LEASE_TTL_SECONDS: "3", IDGEN_ETCD_FENCING_MARGIN_MS: "2000" }, /fencing_margin_ms.*two thirds/))

  it.effect("a wait threshold above the logical threshold is refused", () =>
    rejects(
      { IDGEN_SNOWFLAKE_CLOCK_WAIT_THRESHOLD_MS: "50", IDGEN_SNOWFLAKE_CLOCK_LOGICAL_THRESHOLD_MS: "10" },
      /clock_wait_threshold_ms \(50\) must not exceed/
    ))

  it.effect("out-of-range values are refused with the setting named", () =>
    Effect.gen(function*() {
      yield* rejects({ IDGEN_ETCD_LEASE_TTL_SECONDS: "1" }, /lease_ttl_seconds/)
      yield* rejects({ IDGEN_ETCD_PREFIX: "idgen/" }, /prefix/)
      yield* rejects({ IDGEN_SNOWFLAKE_CEILING_WINDOW_MS: "10" }, /ceiling_window_ms/)
    }))
})
