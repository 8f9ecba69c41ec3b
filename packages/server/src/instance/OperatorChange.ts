/**
 * The operator changes an instance's worker processes share: what one worker accepted at
 * the operator API (validated, applied and audited there) and every other worker applies as
 * it is, with no audit of its own (`OperatorRelay`).
 *
 * Where the state is a value, a change carries the value it ends with — the whole runtime
 * overrides, the whole thresholds — not the patch that led to it, so a worker that applies
 * it ends where the accepting worker ended, and the latest change of each `keyOf` is the
 * instance's state: what a worker that starts later applies before it serves.
 */
import { Names } from "@idgen/core"
import { Schema } from "effect"

export const OperatorChange = Schema.Union([
  /** `PATCH /api/v1/admin/config`: the runtime overrides in force after it (file format). */
  Schema.TaggedStruct("ConfigOverrides", { overrides: Schema.Record(Schema.String, Schema.Unknown) }),
  /** `POST /api/v1/admin/config/reload`: re-read the file now. */
  Schema.TaggedStruct("ConfigReload", {}),
  /** Held unhealthy by an operator (`reason` names them), since `at` (Unix ms). */
  Schema.TaggedStruct("Degrade", { algorithm: Names.Algorithm, reason: Schema.String, at: Schema.Number }),
  Schema.TaggedStruct("Recover", { algorithm: Names.Algorithm, at: Schema.Number }),
  /** The degradation thresholds in force after the change. */
  Schema.TaggedStruct("Thresholds", {
    thresholds: Schema.Struct({ failureThreshold: Schema.Int, recoveryThreshold: Schema.Int, minUnhealthyMillis: Schema.Number })
  })
])
export type OperatorChange = typeof OperatorChange.Type

/**
 * What a change supersedes: a later change with the same key leaves the earlier one nothing
 * to say. Undefined for a reload: it leaves no state of its own (a starting worker reads the
 * file anyway).
 */
export const keyOf = (change: OperatorChange): string | undefined => {
  switch (change._tag) {
    case "ConfigOverrides":
      return "config"
    case "ConfigReload":
      return undefined
    case "Degrade":
    case "Recover":
      return `degradation:${change.algorithm}`
    case "Thresholds":
      return "degradation:thresholds"
  }
}
