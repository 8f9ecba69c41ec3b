import { Schema } from "effect"
import { IntBetween } from "../SchemaHelpers.ts"
import * as Section from "../Section.ts"
import * as Setting from "../Setting.ts"

export const section = Section.make("reload", {
  watch: Setting.make("watch", Schema.Boolean, {
    default: true,
    live: true,
    doc: "Watch the configuration file and TLS files for changes (SIGHUP reloads either way)"
  }),
  pollIntervalMillis: Setting.make("poll_interval_ms", IntBetween(100, 600_000), {
    default: 2000,
    live: true,
    doc: "How often the files are checked"
  })
})
