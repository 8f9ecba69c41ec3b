/**
 * Operator actions in the audit log. `AdminAuth` gives every authenticated
 * admin request an `Operator`; a handler marks its action with `audited`, which writes one
 * `operator` row — who, what, to which resource, with which settings — once the action has
 * succeeded. Recording only queues the row (see `AuditLog`): it neither waits for nor fails
 * with the database, so the action's answer does not depend on the audit trail.
 */
import type { AuditActions } from "@idgen/core"
import { Operator, type OperatorAction } from "@idgen/protocol/http"
import { Effect } from "effect"
import { createHash } from "node:crypto"
import type { AuditLog } from "./AuditLog.ts"

/**
 * Names an admin token in the trail without revealing it: `admin:` and the first 8 hex of its
 * SHA-256. There is one admin token and it names no person; the fingerprint still tells a
 * rotated token from the current one.
 */
export const fingerprint = (token: string): string =>
  `admin:${createHash("sha256").update(token).digest("hex").slice(0, 8)}`

/** The operator holding `token` (already verified), recording into `audit`. */
export const make = (audit: AuditLog["Service"], token: string): Operator["Service"] => {
  const id = fingerprint(token)
  return {
    id,
    record: (action, { resource, details }) =>
      audit.record({ eventType: "operator", actor: id, action, resource, result: "success", metadata: details })
  }
}

/** Runs `self`; when it succeeds, audits `action` on what `describe` says of its result. */
export const audited = <A>(action: AuditActions.Action, describe: (result: A) => OperatorAction) =>
<E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R | Operator> =>
  Effect.tap(self, (result) => Effect.flatMap(Effect.service(Operator), (operator) => operator.record(action, describe(result))))
