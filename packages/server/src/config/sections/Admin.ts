import { Redacted, Schema } from "effect"
import { adminTokenProblem } from "../AdminTokenCheck.ts"
import * as Section from "../Section.ts"
import * as Setting from "../Setting.ts"

export const section = Section.make("admin", {
  token: Setting.optional("token", Schema.RedactedFromValue(Schema.String), {
    secret: true,
    doc: "Bearer token of the operator API (secret; generated on first start with the embedded store)"
  })
}, (admin) => {
  const problem = admin.token === undefined ? undefined : adminTokenProblem(Redacted.value(admin.token))
  return problem === undefined ? admin : Section.refuse({ key: "token", message: problem })
})
