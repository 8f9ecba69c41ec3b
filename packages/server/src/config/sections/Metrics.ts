import { Schema } from "effect"
import { Port } from "../SchemaHelpers.ts"
import * as Section from "../Section.ts"
import * as Setting from "../Setting.ts"

export const section = Section.make("metrics", {
  port: Setting.optional("port", Port, {
    doc: "Serve `/metrics` on this port (plain HTTP, on `http.host`) instead of the HTTP port"
  }),
  bearerToken: Setting.optional("bearer_token", Schema.RedactedFromValue(Schema.String.check(Schema.isMinLength(16))), {
    secret: true,
    doc: "Scrapes must send `Authorization: Bearer <token>` (otherwise 401 IDGEN-COMMON-0002)"
  })
})
