/**
 * Refused credentials: API keys on the ID interfaces, the admin token on the operator API
 * (labels: the credential kind and a fixed set of reasons — never the key itself).
 */
import { type Context, Effect, Layer, Metric } from "effect"

export type AuthCredential = "api_key" | "admin_token"
const reasons = ["missing", "malformed", "unknown", "disabled", "expired", "invalid"] as const
export type AuthFailureReason = (typeof reasons)[number]

export const authFailures = (attributes: { credential: AuthCredential; reason: AuthFailureReason }) =>
  Metric.counter("idgen_auth_failures_total", {
    description: "Refused credentials (API keys on the ID interfaces, the admin token on the operator API), by reason",
    incremental: true,
    attributes
  })

/** `cached`: a key refused moments ago; `throttled`: its address has no failed attempt left. */
export type AuthShortCut = "cached" | "throttled"

export const authRefusedWithoutLookup = (attributes: { reason: AuthShortCut }) =>
  Metric.counter("idgen_auth_refused_without_lookup_total", {
    description: "API keys refused from memory, before any lookup (negative cache, per-address limit of failed attempts)",
    incremental: true,
    attributes
  })

/** Every credential × reason, and both short cuts, on the page at zero from the start. */
export const layer: Layer.Layer<never> = Layer.effectDiscard(
  Effect.contextWith((context: Context.Context<never>) => {
    for (const credential of ["api_key", "admin_token"] as const) {
      for (const reason of reasons) authFailures({ credential, reason }).valueUnsafe(context)
    }
    for (const reason of ["cached", "throttled"] as const) authRefusedWithoutLookup({ reason }).valueUnsafe(context)
    return Effect.void
  })
)
