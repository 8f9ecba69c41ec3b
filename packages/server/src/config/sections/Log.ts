import { Schema } from "effect"
import * as Section from "../Section.ts"
import * as Setting from "../Setting.ts"

const LogLevel = Schema.Literals(["trace", "debug", "info", "warning", "error", "fatal", "none"])
export type LogLevel = typeof LogLevel.Type

export const section = Section.make("log", {
  level: Setting.make("level", LogLevel, { default: "info", live: true, doc: "Minimum level logged" }),
  /** `text`: Effect's default line; `json` for log shippers. */
  format: Setting.make("format", Schema.Literals(["text", "logfmt", "json", "pretty"]), {
    default: "text",
    doc: "Log line format"
  })
})
