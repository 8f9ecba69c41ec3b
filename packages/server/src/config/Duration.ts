/** Prometheus-style durations (`30s`, `5m`, `1h30m`), as alert rules and their `for` use them. */
const unitMs: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000, y: 31_536_000_000 }

/** A Prometheus duration (`30s`, `5m`, `1h30m`, `0s`) in milliseconds, or undefined. */
export const parseDuration = (text: string): number | undefined => {
  if (!/^(\d+(ms|s|m|h|d|w|y))+$/.test(text)) return text === "0" ? 0 : undefined
  let total = 0
  for (const [, n, unit] of text.matchAll(/(\d+)(ms|s|m|h|d|w|y)/g)) total += Number(n) * unitMs[unit!]!
  return total
}

/** Milliseconds as a Prometheus duration, largest units first (`90000` → `1m30s`). */
export const formatDuration = (ms: number): string => {
  if (ms === 0) return "0s"
  let rest = ms
  let out = ""
  for (const unit of ["d", "h", "m", "s", "ms"] as const) {
    const size = unitMs[unit]!
    if (rest >= size) {
      out += `${Math.floor(rest / size)}${unit}`
      rest %= size
    }
  }
  return out
}
