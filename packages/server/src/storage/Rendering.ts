/**
 * How a biz_tag turns its segment counter into ID strings: plain decimals (`segment`) and,
 * when `formatted` is in its chain, its format template. Each rendering alone never repeats
 * a string (the counter never does, and every accepted template is injective in it), but two
 * renderings of one counter can: `1{SEQ}` renders 5 as "15", `{SEQ}` renders 15 as "15"; a
 * formatted `1{SEQ}` and a later plain `segment` do the same. So once the counter has issued
 * numbers, its rendering is fixed: a change of the template, or one that takes `formatted`
 * into or out of the chain, is refused (409) — the sound choice, where moving the counter
 * "above everything issued" would not help (the example collides above any offset). Other
 * changes (step, a chain among segment/snowflake/uuid) keep the strings apart and stay free.
 */
import type { Names } from "@idgen/core"

export interface Rendering {
  readonly algorithm: Names.Algorithm
  readonly fallback: ReadonlyArray<Names.Algorithm>
  readonly formatTemplate: string | null
}

const rendersFormatted = (r: Rendering) => r.algorithm === "formatted" || r.fallback.includes("formatted")

/** Whether `next` could render one counter value differently from `current`. */
export const changes = (current: Rendering, next: Rendering): boolean =>
  current.formatTemplate !== next.formatTemplate || rendersFormatted(current) !== rendersFormatted(next)
