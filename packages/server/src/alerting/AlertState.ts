/**
 * The life of one alert instance (a rule × one label set of its result), as Prometheus
 * runs it: the condition holds → Pending; it has held for the rule's `for` → Firing; it
 * stops holding → Resolved (from Firing) or gone (from Pending, nobody was told).
 *
 * Pure: `step` takes the previous state, whether the condition holds at this evaluation
 * and the evaluation time, and returns the next state and the notification it calls for.
 */
export type AlertStatus = "inactive" | "pending" | "firing" | "resolved"

export interface AlertState {
  readonly status: AlertStatus
  /** When the condition started holding (pending/firing), ms. */
  readonly activeSinceMs: number | undefined
  /** When it fired (firing/resolved), ms. */
  readonly firedAtMs: number | undefined
  /** When it resolved (resolved), ms. */
  readonly resolvedAtMs: number | undefined
  /** The value of the expression at the last evaluation it held. */
  readonly value: number | undefined
}

export type Transition = "none" | "pending" | "firing" | "resolved"

export const inactive: AlertState = {
  status: "inactive",
  activeSinceMs: undefined,
  firedAtMs: undefined,
  resolvedAtMs: undefined,
  value: undefined
}

/**
 * One evaluation. `value` is defined when the condition holds. A `forMs` of 0 fires at the
 * first evaluation that holds (Pending is skipped, as in Prometheus).
 */
export const step = (
  state: AlertState,
  value: number | undefined,
  nowMs: number,
  forMs: number
): { readonly state: AlertState; readonly transition: Transition } => {
  const holds = value !== undefined
  switch (state.status) {
    case "inactive":
    case "resolved": {
      if (!holds) return { state, transition: "none" }
      if (forMs <= 0) {
        return {
          state: { status: "firing", activeSinceMs: nowMs, firedAtMs: nowMs, resolvedAtMs: undefined, value },
          transition: "firing"
        }
      }
      return {
        state: { status: "pending", activeSinceMs: nowMs, firedAtMs: undefined, resolvedAtMs: undefined, value },
        transition: "pending"
      }
    }
    case "pending": {
      if (!holds) return { state: inactive, transition: "none" }
      if (nowMs - state.activeSinceMs! >= forMs) {
        return { state: { ...state, status: "firing", firedAtMs: nowMs, value }, transition: "firing" }
      }
      return { state: { ...state, value }, transition: "none" }
    }
    case "firing": {
      if (holds) return { state: { ...state, value }, transition: "none" }
      return { state: { ...state, status: "resolved", resolvedAtMs: nowMs }, transition: "resolved" }
    }
  }
}
