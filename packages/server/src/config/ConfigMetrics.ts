/** Metrics of configuration reloads (file, SIGHUP, operator API). */
import { Metric } from "effect"

export const configReloads = (outcome: "success" | "failure" | "unchanged") =>
  Metric.counter("idgen_config_reloads_total", {
    description: "Reloads of the configuration file, by outcome (a failure keeps the previous configuration)",
    incremental: true,
    attributes: { outcome }
  })
export const configLastReloadSuccess = Metric.gauge("idgen_config_last_reload_successful", {
  description: "1 when the last configuration reload (file or operator API) was applied, 0 when it was refused"
})
