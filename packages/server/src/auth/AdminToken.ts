/**
 * The operator API's bearer token (`admin.token` / `IDGEN_ADMIN_TOKEN`), checked in
 * constant time. With no token configured every operator request is refused.
 */
import { Errors } from "@idgen/core"
import { Context, Effect, Layer, Metric, Redacted } from "effect"
import { createHash, timingSafeEqual } from "node:crypto"
import { ServerConfig } from "../config/ServerConfig.ts"
import * as AuthMetrics from "./AuthMetrics.ts"

export class AdminToken extends Context.Service<AdminToken, {
  /** Succeeds when `presented` is the configured admin token. */
  verify(presented: Redacted.Redacted<string>): Effect.Effect<void, Errors.Unauthorized>
}>()("@idgen/server/auth/AdminToken") {
  static readonly layer: Layer.Layer<AdminToken, never, ServerConfig> = Layer.effect(
    AdminToken,
    Effect.map(ServerConfig, (config) => {
      const token = config.admin.token
      const expected = token === undefined ? undefined : digest(Redacted.value(token))
      return AdminToken.of({
        verify: (presented) => {
          const value = Redacted.value(presented)
          if (value === "") return refuse("missing", missing)
          return expected !== undefined && timingSafeEqual(digest(value), expected) ? Effect.void : refuse("invalid", wrong)
        }
      })
    })
  )
}

/** Fixed-length digests, so the comparison time does not depend on where or whether lengths differ. */
const digest = (s: string): Buffer => createHash("sha256").update(s).digest()

/** Fails with `error`, counted in `idgen_auth_failures_total`. */
const refuse = (reason: AuthMetrics.AuthFailureReason, error: Errors.Unauthorized) =>
  Effect.andThen(Metric.update(AuthMetrics.authFailures({ credential: "admin_token", reason }), 1), Effect.fail(error))

const missing = new Errors.Unauthorized({
  message: "Missing admin token; send Authorization: Bearer <admin token>",
  details: { header: "Authorization" }
})
const wrong = new Errors.Unauthorized({ message: "Invalid admin token", details: { header: "Authorization" } })
