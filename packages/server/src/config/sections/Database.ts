import { Schema } from "effect"
import { PositiveInt } from "../SchemaHelpers.ts"
import * as Section from "../Section.ts"
import * as Setting from "../Setting.ts"

export const section = Section.make("database", {
  url: Setting.optional("url", Schema.RedactedFromValue(Schema.String.check(Schema.isPattern(/^postgres(ql)?:\/\//))), {
    secret: true,
    doc: "PostgreSQL URL (secret); unset → embedded store under `data_dir`"
  }),
  dataDir: Setting.make("data_dir", Schema.String, { default: "./data", doc: "Embedded store, generated admin token, the static worker id's holder record" }),
  maxConnections: Setting.make("max_connections", PositiveInt, { default: 10, doc: "PostgreSQL pool size" })
})
