/**
 * Environment variables of the settings: every key has one, `IDGEN_<SECTION>_<KEY>`
 * (`segment.l1_capacity` → `IDGEN_SEGMENT_L1_CAPACITY`), except the names the contract and
 * OpenTelemetry fixed otherwise (`aliases`). A value is parsed by the type of its setting
 * (numbers, booleans, comma lists, `k=v` pairs, JSON for tables); a secret's value may also
 * come from a file named in `<VARIABLE>_FILE`, as container platforms mount secrets.
 */
import { Schema } from "effect"
import { readFileSync } from "node:fs"
import type * as Setting from "./Setting.ts"

/** The documented names that do not follow `IDGEN_<SECTION>_<KEY>` (file path → variable). */
const aliases: Readonly<Record<string, string>> = {
  "database.data_dir": "IDGEN_DATA_DIR",
  "node.datacenter_id": "IDGEN_DATACENTER_ID",
  "node.worker_id": "IDGEN_WORKER_ID",
  "node.workers": "IDGEN_WORKERS",
  "node.port_file": "IDGEN_PORT_FILE",
  "snowflake.epoch": "IDGEN_EPOCH",
  "segment.default_step": "IDGEN_SEGMENT_STEP",
  "tracing.otlp_endpoint": "OTEL_EXPORTER_OTLP_ENDPOINT",
  "tracing.service_name": "OTEL_SERVICE_NAME",
  "tracing.otlp_headers": "OTEL_EXPORTER_OTLP_HEADERS",
  "tracing.sample_ratio": "OTEL_TRACES_SAMPLER_ARG",
  "alerting.evaluation_interval_ms": "IDGEN_ALERT_EVALUATION_INTERVAL_MS",
  "alerting.webhook_urls": "IDGEN_ALERT_WEBHOOK_URLS",
  "alerting.alertmanager_urls": "IDGEN_ALERTMANAGER_URLS",
  "reload.watch": "IDGEN_CONFIG_WATCH",
  "reload.poll_interval_ms": "IDGEN_CONFIG_POLL_INTERVAL_MS"
}

/** The variable of the setting at this file path (`["segment", "l1_capacity"]`). */
export const variableOf = (path: ReadonlyArray<string>): string =>
  aliases[path.join(".")] ?? `IDGEN_${path.join("_").toUpperCase()}`

interface JsonSchema {
  readonly type?: string
  readonly enum?: ReadonlyArray<unknown>
  readonly anyOf?: ReadonlyArray<JsonSchema>
  readonly items?: JsonSchema
}

const list = (s: string) => s.split(",").map((x) => x.trim()).filter((x) => x.length > 0)

/** `k=v,k2=v2`, values URL-encoded (as OpenTelemetry's `OTEL_EXPORTER_OTLP_HEADERS`). */
const pairs = (s: string) =>
  Object.fromEntries(list(s).map((pair) => {
    const at = pair.indexOf("=")
    return at < 0 ? [pair, ""] : [pair.slice(0, at).trim(), decodeURIComponent(pair.slice(at + 1).trim())]
  }))

const json = (s: string): unknown => {
  try {
    return JSON.parse(s)
  } catch {
    return s
  }
}

/**
 * How a variable's text becomes a file value, from the setting's JSON Schema; a text that
 * does not parse is passed on as is, for the schema to refuse with the setting named.
 */
const parserOf = (schema: JsonSchema): (s: string) => unknown => {
  if (schema.anyOf) return parserOf(schema.anyOf.find((s) => s.type !== "null") ?? {})
  if (schema.enum) {
    const values = schema.enum
    return (s) => values.find((v) => typeof v === "string" && v.toLowerCase() === s.trim().toLowerCase()) ?? s
  }
  switch (schema.type) {
    case "integer":
      return (s) => (/^-?\d+$/.test(s.trim()) ? Number(s) : s)
    case "number":
      return (s) => (s.trim() !== "" && Number.isFinite(Number(s)) ? Number(s) : s)
    case "boolean":
      return (s) => (/^(1|true|yes|on)$/i.test(s.trim()) ? true : /^(0|false|no|off)$/i.test(s.trim()) ? false : s)
    case "array":
      return schema.items?.type === "object" ? json : list
    case "object":
      return pairs
    default:
      return String
  }
}

export const parser = (setting: Setting.Setting) =>
  parserOf((Schema.toJsonSchemaDocument(setting.schema) as { schema: JsonSchema }).schema)

/** A setting's value from the environment: absent, a value, or a problem to report. */
export type Read =
  | { readonly _tag: "Unset" }
  | { readonly _tag: "Value"; readonly value: unknown }
  | { readonly _tag: "Problem"; readonly message: string }

const readSecretFile = (variable: string, path: string): Read => {
  try {
    return { _tag: "Value", value: readFileSync(path, "utf8").replace(/\r?\n$/, "") }
  } catch (error) {
    return { _tag: "Problem", message: `${variable}_FILE: cannot read ${path}: ${String(error)}` }
  }
}

export const read = (
  env: Record<string, string | undefined>,
  variable: string,
  setting: Setting.Setting,
  parse: (s: string) => unknown
): Read => {
  const raw = env[variable]
  const file = setting.secret ? env[`${variable}_FILE`] : undefined
  if (file !== undefined && file !== "") {
    return raw === undefined || raw === ""
      ? readSecretFile(variable, file)
      : { _tag: "Problem", message: `${variable} and ${variable}_FILE are both set; set one of them` }
  }
  return raw === undefined || raw === "" ? { _tag: "Unset" } : { _tag: "Value", value: parse(raw) }
}
