import { Schema } from "effect"
import * as Section from "../Section.ts"
import * as Setting from "../Setting.ts"

export const section = Section.make("redis", {
  url: Setting.optional("url", Schema.RedactedFromValue(Schema.String), {
    secret: true,
    doc: "Redis URL (secret); unset → node-local caches and rate limits"
  })
})
