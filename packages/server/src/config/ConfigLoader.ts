/**
 * Loads the node's configuration: defaults, overlaid by the TOML file named in
 * `IDGEN_CONFIG`, overlaid by environment variables; validated once at start-up so a
 * bad value stops the process with a message naming the setting.
 */
import { Snowflake } from "@idgen/core"
import { Effect, Layer, Redacted, Schema, SchemaIssue } from "effect"
import { readFileSync } from "node:fs"
import { hostname } from "node:os"
import { parse as parseToml } from "smol-toml"
import { withAdminToken } from "./AdminTokenBootstrap.ts"
import { ConfigInvalid } from "./ConfigInvalid.ts"
import { ServerConfig, type ServerConfigShape } from "./ServerConfig.ts"

const Port = Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 65535 }))
const PositiveInt = Schema.Int.check(Schema.isGreaterThan(0))
const withDefault = <S extends Schema.Top>(schema: S, value: S["Encoded"]) =>
  schema.pipe(Schema.withDecodingDefaultKey(Effect.succeed(value)))
const section = <F extends Schema.Struct.Fields>(fields: F) => withDefault(Schema.Struct(fields), {} as never)

/** The file format: snake_case keys, every key optional. */
const FileSchema = Schema.Struct({
  http: section({
    host: withDefault(Schema.String, "0.0.0.0"),
    port: withDefault(Port, 8080),
    max_body_bytes: withDefault(PositiveInt, 64 * 1024)
  }),
  grpc: section({ port: withDefault(Port, 50051) }),
  admin: section({ token: Schema.optional(Schema.String.check(Schema.isMinLength(16))) }),
  database: section({
    url: Schema.optional(Schema.String.check(Schema.isPattern(/^postgres(ql)?:\/\//))),
    data_dir: withDefault(Schema.String, "./data"),
    max_connections: withDefault(PositiveInt, 10)
  }),
  redis: section({ url: Schema.optional(Schema.String) }),
  etcd: section({ endpoints: withDefault(Schema.Array(Schema.String), []) }),
  node: section({
    name: Schema.optional(Schema.String),
    datacenter_id: withDefault(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 7 })), 0),
    worker_id: withDefault(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 255 })), 0)
  }),
  snowflake: section({
    epoch: withDefault(Schema.String, new Date(Snowflake.DEFAULT_EPOCH_MS).toISOString())
  }),
  segment: section({
    range_size: withDefault(PositiveInt.check(Schema.isLessThanOrEqualTo(Math.floor(Number.MAX_SAFE_INTEGER / 8))), 10_000_000_000),
    default_step: withDefault(PositiveInt, 1000),
    preload_threshold: withDefault(Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 1, exclusiveMinimum: true, exclusiveMaximum: true })), 0.1),
    target_segment_seconds: withDefault(PositiveInt, 300),
    max_step: withDefault(PositiveInt, 10_000_000)
  }),
  auth: section({ cache_ttl_millis: withDefault(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 2000 })), 1000) })
})

type Path = readonly [section: string, key: string]
const integer = (s: string) => (/^-?\d+$/.test(s.trim()) ? Number(s) : s)
const list = (s: string) => s.split(",").map((x) => x.trim()).filter((x) => x.length > 0)

/** The contract's environment variables and where each lands in the file format. */
const environment: ReadonlyArray<readonly [name: string, path: Path, parse: (s: string) => unknown]> = [
  ["IDGEN_HTTP_HOST", ["http", "host"], String],
  ["IDGEN_HTTP_PORT", ["http", "port"], integer],
  ["IDGEN_GRPC_PORT", ["grpc", "port"], integer],
  ["IDGEN_ADMIN_TOKEN", ["admin", "token"], String],
  ["IDGEN_DATABASE_URL", ["database", "url"], String],
  ["IDGEN_DATA_DIR", ["database", "data_dir"], String],
  ["IDGEN_REDIS_URL", ["redis", "url"], String],
  ["IDGEN_ETCD_ENDPOINTS", ["etcd", "endpoints"], list],
  ["IDGEN_NODE_NAME", ["node", "name"], String],
  ["IDGEN_DATACENTER_ID", ["node", "datacenter_id"], integer],
  ["IDGEN_WORKER_ID", ["node", "worker_id"], integer],
  ["IDGEN_EPOCH", ["snowflake", "epoch"], String],
  ["IDGEN_SEGMENT_RANGE_SIZE", ["segment", "range_size"], integer],
  ["IDGEN_SEGMENT_STEP", ["segment", "default_step"], integer]
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
  for (const [name, [sectionName, key], parse] of environment) {
    const raw = env[name]
    if (raw === undefined || raw === "") continue
    merged[sectionName] = { ...merged[sectionName], [key]: parse(raw) }
  }
  return merged
}

const parseEpoch = (epoch: string) => {
  const ms = /^\d+$/.test(epoch) ? Number(epoch) : Date.parse(epoch)
  return Number.isFinite(ms) && ms >= 0
    ? Effect.succeed(ms)
    : Effect.fail(new ConfigInvalid({ message: `snowflake.epoch (IDGEN_EPOCH): not a date or Unix ms: ${epoch}` }))
}

const formatIssue = SchemaIssue.makeFormatterDefault()

/** Builds the effective configuration from a file path (optional) and an environment. */
export const load = Effect.fnUntraced(function*(env: Record<string, string | undefined>) {
  const file = env.IDGEN_CONFIG ? yield* readFile(env.IDGEN_CONFIG) : {}
  const raw = yield* Schema.decodeUnknownEffect(FileSchema, { onExcessProperty: "error" })(
    overlayEnvironment(file, env)
  ).pipe(
    Effect.mapError((error) => new ConfigInvalid({ message: `invalid configuration:\n${formatIssue(error.issue)}` }))
  )
  const epochMs = yield* parseEpoch(raw.snowflake.epoch)
  const optionalSecret = (value: string | undefined) => (value === undefined ? undefined : Redacted.make(value))
  const config: ServerConfigShape = {
    http: { host: raw.http.host, port: raw.http.port, maxBodyBytes: raw.http.max_body_bytes },
    grpc: { port: raw.grpc.port },
    admin: { token: optionalSecret(raw.admin.token) },
    database: {
      url: optionalSecret(raw.database.url),
      dataDir: raw.database.data_dir,
      maxConnections: raw.database.max_connections
    },
    redis: { url: optionalSecret(raw.redis.url) },
    etcd: { endpoints: raw.etcd.endpoints },
    node: {
      name: raw.node.name ?? `${hostname()}-${process.pid}`,
      datacenterId: raw.node.datacenter_id,
      workerId: raw.node.worker_id
    },
    snowflake: { epochMs },
    segment: {
      rangeSize: raw.segment.range_size,
      defaultStep: raw.segment.default_step,
      preloadThreshold: raw.segment.preload_threshold,
      targetSegmentSeconds: raw.segment.target_segment_seconds,
      maxStep: raw.segment.max_step
    },
    auth: { cacheTtlMillis: raw.auth.cache_ttl_millis }
  }
  return config
})

/** The configuration of this process, from `process.env`. */
export const layerFromEnv = Layer.effect(ServerConfig, Effect.flatMap(load(process.env), withAdminToken))
