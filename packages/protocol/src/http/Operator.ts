/**
 * The authenticated operator of an admin request, which `AdminAuth` gives every handler of
 * the operator API: who it is, and how its actions reach the audit log.
 */
import type { AuditActions } from "@idgen/core"
import { Context, type Effect } from "effect"

export interface OperatorAction {
  /** e.g. `workspace:shop`, `api_key:<id>`, `config`. */
  readonly resource: string
  /** The settings given or changed — never a secret (an API key, a token, a config value that may hold one). */
  readonly details: Readonly<Record<string, unknown>>
}

export class Operator extends Context.Service<Operator, {
  /** The audit `actor`: the admin token's fingerprint. */
  readonly id: string
  readonly record: (action: AuditActions.Action, target: OperatorAction) => Effect.Effect<void>
}>()("@idgen/protocol/http/Operator") {}
