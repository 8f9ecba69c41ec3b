import { IntBetween, PositiveInt } from "../SchemaHelpers.ts"
import * as Section from "../Section.ts"
import * as Setting from "../Setting.ts"

/** The degradation manager's initial thresholds (operators change them at run time). */
export const section = Section.make("degradation", {
  failureThreshold: Setting.make("failure_threshold", PositiveInt, {
    default: 3,
    doc: "Consecutive node-level failures that take an algorithm out of the chains"
  }),
  recoveryThreshold: Setting.make("recovery_threshold", PositiveInt, { default: 3, doc: "Passing probes that bring it back" }),
  minUnhealthyMillis: Setting.make("min_unhealthy_ms", IntBetween(0, 3_600_000), {
    default: 5000,
    doc: "Minimum time an algorithm stays unhealthy before probes count"
  }),
  probeIntervalMillis: Setting.make("probe_interval_ms", IntBetween(50, 60_000), {
    default: 1000,
    doc: "How often generator health is probed"
  })
})
