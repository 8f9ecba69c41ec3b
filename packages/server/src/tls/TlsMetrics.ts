/** Reloads of the TLS certificate and key files, and the served certificate's expiry. */
import { Metric } from "effect"

export const tlsReloads = (outcome: "success" | "failure") =>
  Metric.counter("idgen_tls_reloads_total", {
    description: "Reloads of the TLS certificate and key files, by outcome (a failure keeps the previous pair)",
    incremental: true,
    attributes: { outcome }
  })
export const tlsCertificateExpiry = Metric.gauge("idgen_tls_certificate_expiry_timestamp_seconds", {
  description: "Unix time at which the served TLS certificate expires"
})
