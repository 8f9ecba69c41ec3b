import { Schema } from "effect"
import { NonEmptyString } from "../SchemaHelpers.ts"
import * as Section from "../Section.ts"
import * as Setting from "../Setting.ts"

export const section = Section.make("tls", {
  certFile: Setting.optional("cert_file", NonEmptyString, {
    doc: "PEM certificate (chain); with `key_file`, HTTP and gRPC speak TLS only"
  }),
  keyFile: Setting.optional("key_file", NonEmptyString, { doc: "PEM private key" }),
  caFile: Setting.optional("ca_file", NonEmptyString, {
    doc: "Require client certificates signed by this CA (mutual TLS)"
  }),
  minVersion: Setting.make("min_version", Schema.Literals(["TLSv1.2", "TLSv1.3"]), {
    default: "TLSv1.2",
    doc: "Oldest TLS version accepted"
  })
}, (tls) =>
  (tls.certFile === undefined) !== (tls.keyFile === undefined)
    ? Section.refuse({ message: "tls.cert_file (IDGEN_TLS_CERT_FILE) and tls.key_file (IDGEN_TLS_KEY_FILE) must be set together" })
    : tls.caFile !== undefined && tls.certFile === undefined
    ? Section.refuse({ message: "tls.ca_file needs tls.cert_file and tls.key_file" })
    : tls)
