/**
 * The validated, effective configuration of one node: one object per section, each what
 * its section's schema decodes (`sections/*.ts`, where every setting is declared). Loading
 * (file, environment, runtime changes) lives in `ConfigLoader.ts`.
 */
import { Context, Schema, SchemaTransformation } from "effect"
import type * as Section from "./Section.ts"
import * as Admin from "./sections/Admin.ts"
import * as Alerting from "./sections/Alerting.ts"
import * as Audit from "./sections/Audit.ts"
import * as Auth from "./sections/Auth.ts"
import * as Database from "./sections/Database.ts"
import * as Degradation from "./sections/Degradation.ts"
import * as Etcd from "./sections/Etcd.ts"
import * as Grpc from "./sections/Grpc.ts"
import * as Http from "./sections/Http.ts"
import * as Log from "./sections/Log.ts"
import * as Metrics from "./sections/Metrics.ts"
import * as Node from "./sections/Node.ts"
import * as RateLimit from "./sections/RateLimit.ts"
import * as Redis from "./sections/Redis.ts"
import * as Reload from "./sections/Reload.ts"
import * as Segment from "./sections/Segment.ts"
import * as Snowflake from "./sections/Snowflake.ts"
import * as Tls from "./sections/Tls.ts"
import * as Tracing from "./sections/Tracing.ts"

/** Every section, in the order the reference and the example file show them. */
export const sections = {
  http: Http.section,
  grpc: Grpc.section,
  admin: Admin.section,
  database: Database.section,
  redis: Redis.section,
  etcd: Etcd.section,
  node: Node.section,
  snowflake: Snowflake.section,
  segment: Segment.section,
  auth: Auth.section,
  log: Log.section,
  tracing: Tracing.section,
  alerting: Alerting.section,
  tls: Tls.section,
  reload: Reload.section,
  audit: Audit.section,
  degradation: Degradation.section,
  metrics: Metrics.section,
  rateLimit: RateLimit.section
}

type Sections = typeof sections

export interface ServerConfigShape extends
  Readonly<{ [K in keyof Sections]: Sections[K] extends Section.Section<string, infer A> ? A : never }>
{}

/** Every setting of every section. */
export const entries: ReadonlyArray<Section.Entry> = Object.values(sections).flatMap((s) => s.entries)

const rename = (from: "name" | "key", to: "name" | "key") => (config: Record<string, unknown>) =>
  Object.fromEntries(Object.values(sections).map((s) => [s[to], config[s[from]]]))

/** The whole file (snake_case tables, every key optional) → `ServerConfigShape`. */
export const FileSchema = Schema.Struct(
  Object.fromEntries(Object.values(sections).map((s) => [s.name, s.schema]))
).pipe(Schema.decodeTo(
  Schema.declare((u): u is ServerConfigShape => typeof u === "object" && u !== null),
  SchemaTransformation.transform({ decode: rename("name", "key") as never, encode: rename("key", "name") as never })
)) as unknown as Schema.Codec<ServerConfigShape, Record<string, unknown>>

export class ServerConfig extends Context.Service<ServerConfig, ServerConfigShape>()(
  "@idgen/server/config/ServerConfig"
) {}
