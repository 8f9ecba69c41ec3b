/**
 * Refused credentials: API keys on the ID interfaces, the admin token on the operator API
 * (labels: the credential kind and a fixed set of reasons — never the key itself).
 */
import { Metric } from "effect"

export type AuthCredential = "api_key" | "admin_token"
export type AuthFailureReason = "missing" | "malformed" | "unknown" | "disabled" | "expired" | "invalid"

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
