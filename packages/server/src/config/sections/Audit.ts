import { PositiveInt } from "../SchemaHelpers.ts"
import * as Section from "../Section.ts"
import * as Setting from "../Setting.ts"

export const section = Section.make("audit", {
  retentionDays: Setting.make("retention_days", PositiveInt, { default: 90, doc: "Audit rows older than this are deleted" })
})
