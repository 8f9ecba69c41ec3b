import { Schema } from "effect"
import { NonNegativeInt, PositiveInt } from "../SchemaHelpers.ts"
import * as Section from "../Section.ts"
import * as Setting from "../Setting.ts"

export const section = Section.make("database", {
  url: Setting.optional("url", Schema.RedactedFromValue(Schema.String.check(Schema.isPattern(/^postgres(ql)?:\/\//))), {
    secret: true,
    doc: "PostgreSQL URL (secret); unset → embedded store under `data_dir`"
  }),
  dataDir: Setting.make("data_dir", Schema.String, { default: "./data", doc: "Embedded store, generated admin token, the static worker id's holder record" }),
  embeddedTemplateDir: Setting.optional("embedded_template_dir", Schema.String, {
    doc: "Where the embedded store's template is kept (initdb's output with the schema migrated, per PGlite version " +
      "and schema, copied by a first start instead of running initdb and the migrations; made by `npm ci` and the " +
      "Docker image); unset → `node_modules/.cache/idgen` of the installation"
  }),
  maxConnections: Setting.make("max_connections", PositiveInt, { default: 10, doc: "PostgreSQL pool size" }),
  connectTimeoutMillis: Setting.make("connect_timeout_ms", NonNegativeInt, {
    default: 10_000,
    doc: "How long a start keeps trying PostgreSQL while it refuses connections, its host is not found or it is " +
      "starting up (a node started before its database); then the node exits 69. 0: one attempt"
  })
})
