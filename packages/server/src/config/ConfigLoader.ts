/**
 * Loads the node's configuration: defaults, overlaid by the TOML file named in
 * `IDGEN_CONFIG`, overlaid by environment variables; validated once at start-up so a
 * bad value stops the process with a message naming the setting.
 */
import { DatacenterRange, Snowflake } from "@idgen/core"
import { Effect, Layer, Redacted, Schema, SchemaIssue } from "effect"
import { readFileSync } from "node:fs"
import { availableParallelism, hostname } from "node:os"
import { parse as parseToml } from "smol-toml"
import { withAdminToken } from "./AdminTokenBootstrap.ts"
import { checkAdminToken } from "./AdminTokenCheck.ts"
import { ConfigInvalid } from "./ConfigInvalid.ts"
import * as OperationsConfig from "./OperationsConfig.ts"
import { Port, PositiveInt, section, withDefault } from "./SchemaHelpers.ts"
import { ServerConfig, type ServerConfigShape } from "./ServerConfig.ts"
import * as ClientAddress from "../requests/ClientAddress.ts"
import * as StorageFence from "../storage/StorageFence.ts"

/** The file format: snake_case keys, every key optional. */
export const FileSchema = Schema.Struct({
  ...OperationsConfig.fileSections,
  http: section({
    host: withDefault(Schema.String, "0.0.0.0"),
    port: withDefault(Port, 8080),
    max_body_bytes: withDefault(PositiveInt, 64 * 1024),
    headers_timeout_ms: withDefault(Schema.Int.check(Schema.isBetween({ minimum: 100, maximum: 600_000 })), 5000),
    request_timeout_ms: withDefault(Schema.Int.check(Schema.isBetween({ minimum: 100, maximum: 600_000 })), 10_000),
    max_connections: withDefault(PositiveInt, 10_000),
    max_websockets: withDefault(PositiveInt, 1000)
  }),
  grpc: section({
    port: withDefault(Port, 50051),
    max_connections: withDefault(PositiveInt, 10_000),
    max_concurrent_streams: withDefault(PositiveInt, 100)
  }),
  admin: section({ token: Schema.optional(Schema.String) }),
  database: section({
    url: Schema.optional(Schema.String.check(Schema.isPattern(/^postgres(ql)?:\/\//))),
    data_dir: withDefault(Schema.String, "./data"),
    max_connections: withDefault(PositiveInt, 10)
  }),
  redis: section({ url: Schema.optional(Schema.String) }),
  etcd: section({
    endpoints: withDefault(Schema.Array(Schema.String), []),
    prefix: withDefault(Schema.String.check(Schema.isPattern(/^(\/[A-Za-z0-9._-]+)+$/)), "/idgen"),
    lease_ttl_seconds: withDefault(Schema.Int.check(Schema.isBetween({ minimum: 2, maximum: 3600 })), 30),
    // Default: a sixth of the TTL, at most 5 s (see `load`).
    fencing_margin_ms: Schema.optional(PositiveInt),
    request_timeout_ms: withDefault(Schema.Int.check(Schema.isBetween({ minimum: 100, maximum: 60_000 })), 2000)
  }),
  node: section({
    name: Schema.optional(Schema.String),
    datacenter_id: withDefault(Snowflake.DatacenterId, 0),
    worker_id: withDefault(Snowflake.WorkerId, 0),
    // Default: the available parallelism (see `load`); the embedded store runs one (cluster/WorkerPlan.ts).
    workers: Schema.optional(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 256 }))),
    port_file: Schema.optional(Schema.String)
  }),
  snowflake: section({
    epoch: withDefault(Schema.String, new Date(Snowflake.DEFAULT_EPOCH_MS).toISOString()),
    clock_wait_threshold_ms: withDefault(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 1000 })), 5),
    clock_logical_threshold_ms: withDefault(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 60_000 })), 1000),
    ceiling_window_ms: withDefault(Schema.Int.check(Schema.isBetween({ minimum: 1000, maximum: 3_600_000 })), 10_000),
    static_hold_timeout_ms: withDefault(Schema.Int.check(Schema.isBetween({ minimum: 1000, maximum: 600_000 })), 10_000),
    static_ceiling_wait_ms: withDefault(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 3_600_000 })), 20_000)
  }),
  segment: section({
    // Pinned in the database at first start (storage/PinnedSettings.ts); change with `idgen cluster pin`.
    range_size: withDefault(DatacenterRange.RangeSize, DatacenterRange.DEFAULT_RANGE_SIZE),
    // Numbers every (biz_tag, datacenter) pointer skips after a database failover (storage/StorageFence.ts).
    failover_safety_gap: withDefault(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: DatacenterRange.MAX_RANGE_SIZE })), StorageFence.DEFAULT_SAFETY_GAP),
    default_step: withDefault(PositiveInt, 1000),
    preload_threshold: withDefault(Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 1, exclusiveMinimum: true, exclusiveMaximum: true })), 0.1),
    target_segment_seconds: withDefault(PositiveInt, 300),
    max_step: withDefault(PositiveInt, 10_000_000),
    take_timeout_ms: withDefault(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 60_000 })), 3000),
    idle_release_ms: withDefault(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 86_400_000 })), 600_000),
    l1_capacity: withDefault(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 16_777_216 })), 4096),
    l1_low_watermark: withDefault(Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 1 })), 0.25),
    l1_high_watermark: withDefault(Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 1, exclusiveMinimum: true })), 1),
    l1_hot_ids_per_second: withDefault(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)), 1000),
    l1_memory_budget_bytes: withDefault(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)), 16 * 1024 * 1024),
    pool_enabled: withDefault(Schema.Boolean, true),
    pool_segment_size: withDefault(PositiveInt, 100_000),
    pool_segments_per_refill: withDefault(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 1000 })), 20),
    pool_low_mark: withDefault(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 1000 })), 5)
  }),
  auth: section({
    cache_ttl_millis: withDefault(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 2000 })), 1000),
    failed_per_ip_per_second: withDefault(PositiveInt, 10),
    failed_per_ip_burst: withDefault(PositiveInt, 50),
    unknown_key_cache_ms: withDefault(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 60_000 })), 5000),
    outage_grace_ms: withDefault(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 900_000 })), 60_000)
  }),
  degradation: section({
    failure_threshold: withDefault(PositiveInt, 3),
    recovery_threshold: withDefault(PositiveInt, 3),
    min_unhealthy_ms: withDefault(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 3_600_000 })), 5000),
    probe_interval_ms: withDefault(Schema.Int.check(Schema.isBetween({ minimum: 50, maximum: 60_000 })), 1000)
  }),
  rate_limit: section({
    per_ip_per_second: withDefault(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)), 0),
    per_ip_burst: withDefault(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)), 0),
    trusted_proxies: withDefault(
      Schema.Array(Schema.String.check(Schema.makeFilter((s: string) =>
        ClientAddress.isAddressOrBlock(s) || "expected an IP address or a CIDR block such as 10.0.0.0/8"
      ))),
      []
    )
  }),
  audit: section({ retention_days: withDefault(PositiveInt, 90) })
})

type Path = readonly [section: string, key: string]
const integer = (s: string) => (/^-?\d+$/.test(s.trim()) ? Number(s) : s)
const list = (s: string) => s.split(",").map((x) => x.trim()).filter((x) => x.length > 0)

/** The contract's environment variables and where each lands in the file format. */
export const environment: ReadonlyArray<readonly [name: string, path: Path, parse: (s: string) => unknown]> = [
  ["IDGEN_HTTP_HOST", ["http", "host"], String],
  ["IDGEN_HTTP_PORT", ["http", "port"], integer],
  ["IDGEN_HTTP_MAX_BODY_BYTES", ["http", "max_body_bytes"], integer],
  ["IDGEN_HTTP_HEADERS_TIMEOUT_MS", ["http", "headers_timeout_ms"], integer],
  ["IDGEN_HTTP_REQUEST_TIMEOUT_MS", ["http", "request_timeout_ms"], integer],
  ["IDGEN_HTTP_MAX_CONNECTIONS", ["http", "max_connections"], integer],
  ["IDGEN_HTTP_MAX_WEBSOCKETS", ["http", "max_websockets"], integer],
  ["IDGEN_GRPC_PORT", ["grpc", "port"], integer],
  ["IDGEN_GRPC_MAX_CONNECTIONS", ["grpc", "max_connections"], integer],
  ["IDGEN_GRPC_MAX_CONCURRENT_STREAMS", ["grpc", "max_concurrent_streams"], integer],
  ["IDGEN_ADMIN_TOKEN", ["admin", "token"], String],
  ["IDGEN_DATABASE_URL", ["database", "url"], String],
  ["IDGEN_DATA_DIR", ["database", "data_dir"], String],
  ["IDGEN_REDIS_URL", ["redis", "url"], String],
  ["IDGEN_ETCD_ENDPOINTS", ["etcd", "endpoints"], list],
  ["IDGEN_ETCD_PREFIX", ["etcd", "prefix"], String],
  ["IDGEN_ETCD_LEASE_TTL_SECONDS", ["etcd", "lease_ttl_seconds"], integer],
  ["IDGEN_ETCD_FENCING_MARGIN_MS", ["etcd", "fencing_margin_ms"], integer],
  ["IDGEN_ETCD_REQUEST_TIMEOUT_MS", ["etcd", "request_timeout_ms"], integer],
  ["IDGEN_NODE_NAME", ["node", "name"], String],
  ["IDGEN_DATACENTER_ID", ["node", "datacenter_id"], integer],
  ["IDGEN_WORKER_ID", ["node", "worker_id"], integer],
  ["IDGEN_WORKERS", ["node", "workers"], integer],
  ["IDGEN_PORT_FILE", ["node", "port_file"], String],
  ["IDGEN_EPOCH", ["snowflake", "epoch"], String],
  ["IDGEN_SNOWFLAKE_CLOCK_WAIT_THRESHOLD_MS", ["snowflake", "clock_wait_threshold_ms"], integer],
  ["IDGEN_SNOWFLAKE_CLOCK_LOGICAL_THRESHOLD_MS", ["snowflake", "clock_logical_threshold_ms"], integer],
  ["IDGEN_SNOWFLAKE_CEILING_WINDOW_MS", ["snowflake", "ceiling_window_ms"], integer],
  ["IDGEN_SNOWFLAKE_STATIC_HOLD_TIMEOUT_MS", ["snowflake", "static_hold_timeout_ms"], integer],
  ["IDGEN_SNOWFLAKE_STATIC_CEILING_WAIT_MS", ["snowflake", "static_ceiling_wait_ms"], integer],
  ["IDGEN_SEGMENT_RANGE_SIZE", ["segment", "range_size"], integer],
  ["IDGEN_SEGMENT_FAILOVER_SAFETY_GAP", ["segment", "failover_safety_gap"], integer],
  ["IDGEN_SEGMENT_STEP", ["segment", "default_step"], integer],
  ["IDGEN_SEGMENT_POOL_ENABLED", ["segment", "pool_enabled"], OperationsConfig.boolean],
  ["IDGEN_SEGMENT_POOL_SEGMENT_SIZE", ["segment", "pool_segment_size"], integer],
  ["IDGEN_SEGMENT_POOL_SEGMENTS_PER_REFILL", ["segment", "pool_segments_per_refill"], integer],
  ["IDGEN_SEGMENT_POOL_LOW_MARK", ["segment", "pool_low_mark"], integer],
  ["IDGEN_AUTH_FAILED_PER_IP_PER_SECOND", ["auth", "failed_per_ip_per_second"], integer],
  ["IDGEN_AUTH_FAILED_PER_IP_BURST", ["auth", "failed_per_ip_burst"], integer],
  ["IDGEN_AUTH_UNKNOWN_KEY_CACHE_MS", ["auth", "unknown_key_cache_ms"], integer],
  ["IDGEN_AUTH_OUTAGE_GRACE_MS", ["auth", "outage_grace_ms"], integer],
  ["IDGEN_DEGRADATION_FAILURE_THRESHOLD", ["degradation", "failure_threshold"], integer],
  ["IDGEN_DEGRADATION_RECOVERY_THRESHOLD", ["degradation", "recovery_threshold"], integer],
  ["IDGEN_DEGRADATION_MIN_UNHEALTHY_MS", ["degradation", "min_unhealthy_ms"], integer],
  ["IDGEN_DEGRADATION_PROBE_INTERVAL_MS", ["degradation", "probe_interval_ms"], integer],
  ["IDGEN_RATE_LIMIT_PER_IP_PER_SECOND", ["rate_limit", "per_ip_per_second"], integer],
  ["IDGEN_RATE_LIMIT_PER_IP_BURST", ["rate_limit", "per_ip_burst"], integer],
  ["IDGEN_RATE_LIMIT_TRUSTED_PROXIES", ["rate_limit", "trusted_proxies"], list],
  ["IDGEN_AUDIT_RETENTION_DAYS", ["audit", "retention_days"], integer]
]

const readFile = (path: string) =>
  Effect.try({
    try: () => parseToml(readFileSync(path, "utf8")) as Record<string, unknown>,
    catch: (cause) => new ConfigInvalid({ message: `cannot read config file ${path}: ${String(cause)}` })
  })

const overlayEnvironment = (file: Record<string, unknown>, env: Record<string, string | undefined>) => {
  const merged: Record<string, Record<string, unknown>> = {}
  for (const [name, value] of Object.entries(file)) {
    merged[name] = typeof value === "object" && value !== null ? { ...(value as object) } : (value as never)
  }
  for (const [name, [sectionName, key], parse] of [...environment, ...OperationsConfig.environment]) {
    const raw = env[name]
    if (raw === undefined || raw === "") continue
    merged[sectionName] = { ...merged[sectionName], [key]: parse(raw) }
  }
  return merged
}

/** An epoch as configured: an ISO 8601 date or Unix milliseconds. */
export const parseEpoch = (epoch: string) => {
  const ms = /^\d+$/.test(epoch) ? Number(epoch) : Date.parse(epoch)
  return Number.isFinite(ms) && ms >= 0
    ? Effect.succeed(ms)
    : Effect.fail(new ConfigInvalid({ message: `snowflake.epoch (IDGEN_EPOCH): not a date or Unix ms: ${epoch}` }))
}

const formatIssue = SchemaIssue.makeFormatterDefault()

const invalid = (message: string) => Effect.fail(new ConfigInvalid({ message }))

/**
 * The fencing margin must leave room for keep-alives (sent every third of the TTL): a
 * node fences itself `ttl - margin` after the last successful one.
 */
const fencingMargin = (ttlSeconds: number, margin: number | undefined) => {
  const ttlMs = ttlSeconds * 1000
  const value = margin ?? Math.min(5000, Math.floor(ttlMs / 6))
  return value < ttlMs - ttlMs / 3
    ? Effect.succeed(value)
    : invalid(
      `etcd.fencing_margin_ms (IDGEN_ETCD_FENCING_MARGIN_MS): ${value} ms leaves no room for keep-alives; ` +
        `it must be below two thirds of the lease TTL (${Math.ceil((ttlMs * 2) / 3)} ms)`
    )
}

const clockThresholds = (wait: number, logical: number) =>
  wait <= logical
    ? Effect.succeed({ wait, logical })
    : invalid(
      `snowflake.clock_wait_threshold_ms (${wait}) must not exceed snowflake.clock_logical_threshold_ms (${logical})`
    )

/**
 * Objects merged key by key (tables of tables too); anything else in `top` replaces.
 * How runtime changes (operator API) land on top of file and environment.
 */
export const mergeDeep = (base: Record<string, unknown>, top: Record<string, unknown>): Record<string, unknown> => {
  const out: Record<string, unknown> = { ...base }
  for (const [key, value] of Object.entries(top)) {
    const below = out[key]
    out[key] = isTable(value) && isTable(below) ? mergeDeep(below, value) : value
  }
  return out
}

const isTable = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/**
 * Builds the effective configuration from a file path (optional) and an environment, with
 * `overrides` (file format, from runtime changes) on top of both.
 */
export const load = Effect.fnUntraced(function*(
  env: Record<string, string | undefined>,
  overrides: Record<string, unknown> = {}
) {
  const file = env.IDGEN_CONFIG ? yield* readFile(env.IDGEN_CONFIG) : {}
  const raw = yield* Schema.decodeUnknownEffect(FileSchema, { onExcessProperty: "error" })(
    mergeDeep(overlayEnvironment(file, env), overrides)
  ).pipe(
    Effect.mapError((error) => new ConfigInvalid({ message: `invalid configuration:\n${formatIssue(error.issue)}` }))
  )
  const epochMs = yield* parseEpoch(raw.snowflake.epoch)
  const fencingMarginMillis = yield* fencingMargin(raw.etcd.lease_ttl_seconds, raw.etcd.fencing_margin_ms)
  const clock = yield* clockThresholds(raw.snowflake.clock_wait_threshold_ms, raw.snowflake.clock_logical_threshold_ms)
  const adminToken = yield* checkAdminToken(raw.admin.token)
  const optionalSecret = (value: string | undefined) => (value === undefined ? undefined : Redacted.make(value))
  const operations = yield* OperationsConfig.fromFile(raw)
  const config: ServerConfigShape = {
    ...operations,
    http: {
      host: raw.http.host,
      port: raw.http.port,
      maxBodyBytes: raw.http.max_body_bytes,
      headersTimeoutMillis: raw.http.headers_timeout_ms,
      requestTimeoutMillis: Math.max(raw.http.request_timeout_ms, raw.http.headers_timeout_ms),
      maxConnections: raw.http.max_connections,
      maxWebSockets: raw.http.max_websockets
    },
    grpc: {
      port: raw.grpc.port,
      maxConnections: raw.grpc.max_connections,
      maxConcurrentStreams: raw.grpc.max_concurrent_streams
    },
    admin: { token: optionalSecret(adminToken) },
    database: {
      url: optionalSecret(raw.database.url),
      dataDir: raw.database.data_dir,
      maxConnections: raw.database.max_connections
    },
    redis: { url: optionalSecret(raw.redis.url) },
    etcd: {
      endpoints: raw.etcd.endpoints,
      prefix: raw.etcd.prefix,
      leaseTtlSeconds: raw.etcd.lease_ttl_seconds,
      fencingMarginMillis,
      requestTimeoutMillis: raw.etcd.request_timeout_ms
    },
    node: {
      name: raw.node.name ?? `${hostname()}-${process.pid}`,
      datacenterId: raw.node.datacenter_id,
      workerId: raw.node.worker_id,
      workers: raw.node.workers ?? availableParallelism(),
      portFile: raw.node.port_file
    },
    snowflake: {
      epochMs,
      clockWaitThresholdMillis: clock.wait,
      clockLogicalThresholdMillis: clock.logical,
      ceilingWindowMillis: raw.snowflake.ceiling_window_ms,
      staticHoldTimeoutMillis: raw.snowflake.static_hold_timeout_ms,
      staticCeilingWaitMillis: raw.snowflake.static_ceiling_wait_ms
    },
    segment: {
      rangeSize: raw.segment.range_size,
      failoverSafetyGap: raw.segment.failover_safety_gap,
      defaultStep: raw.segment.default_step,
      preloadThreshold: raw.segment.preload_threshold,
      targetSegmentSeconds: raw.segment.target_segment_seconds,
      maxStep: raw.segment.max_step,
      takeTimeoutMillis: raw.segment.take_timeout_ms,
      idleReleaseMillis: raw.segment.idle_release_ms,
      l1: {
        capacity: raw.segment.l1_capacity,
        lowWatermark: raw.segment.l1_low_watermark,
        highWatermark: raw.segment.l1_high_watermark,
        hotIdsPerSecond: raw.segment.l1_hot_ids_per_second,
        memoryBudgetBytes: raw.segment.l1_memory_budget_bytes
      },
      pool: {
        enabled: raw.segment.pool_enabled,
        segmentSize: raw.segment.pool_segment_size,
        segmentsPerRefill: raw.segment.pool_segments_per_refill,
        lowMark: raw.segment.pool_low_mark
      }
    },
    auth: {
      cacheTtlMillis: raw.auth.cache_ttl_millis,
      failedPerIp: { perSecond: raw.auth.failed_per_ip_per_second, burst: raw.auth.failed_per_ip_burst },
      unknownKeyCacheMillis: raw.auth.unknown_key_cache_ms,
      outageGraceMillis: raw.auth.outage_grace_ms
    },
    degradation: {
      failureThreshold: raw.degradation.failure_threshold,
      recoveryThreshold: raw.degradation.recovery_threshold,
      minUnhealthyMillis: raw.degradation.min_unhealthy_ms,
      probeIntervalMillis: raw.degradation.probe_interval_ms
    },
    rateLimit: {
      perIpPerSecond: raw.rate_limit.per_ip_per_second,
      // Burst defaults to one second's worth.
      perIpBurst: raw.rate_limit.per_ip_burst || raw.rate_limit.per_ip_per_second,
      trustedProxies: raw.rate_limit.trusted_proxies
    },
    audit: { retentionDays: raw.audit.retention_days }
  }
  return config
})

/** The configuration of this process, from `process.env`. */
export const layerFromEnv = Layer.effect(ServerConfig, Effect.flatMap(load(process.env), withAdminToken))
