import * as LogOutput from "../../logging/LogOutput.ts"
import * as Section from "../Section.ts"
import * as Setting from "../Setting.ts"

export const section = Section.make("log", {
  level: Setting.make("level", LogOutput.Level, { default: "info", live: true, doc: "Minimum level logged" }),
  /** `text`: Effect's default line; `json` for log shippers. */
  format: Setting.make("format", LogOutput.Format, {
    default: "text",
    doc: "Log line format"
  })
})
