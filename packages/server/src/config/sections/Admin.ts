import { Schema } from "effect"
import { AdminToken } from "../AdminTokenCheck.ts"
import * as Section from "../Section.ts"
import * as Setting from "../Setting.ts"

export const section = Section.make("admin", {
  token: Setting.optional("token", Schema.RedactedFromValue(AdminToken), {
    secret: true,
    doc: "Bearer token of the operator API (secret; generated on first start with the embedded store)"
  })
})
