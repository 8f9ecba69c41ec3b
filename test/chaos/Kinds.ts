/**
 * The biz_tags of the chaos run, one per kind, with what the run demands of each: the
 * chained one must keep serving through every fault; the others may refuse while their
 * source is gone, but only with the contract's IDGEN codes.
 */
export interface Kind {
  /** The biz_tag's name (also the kind's name in the report). */
  readonly tag: string
  /** Its operator-API create body (without `group` and `name`). */
  readonly create: Record<string, unknown>
  /** Requests must succeed at least this often (undefined: refusals with a code are fine). */
  readonly minSuccessRatio: number | undefined
}

export const WORKSPACE = "chaos"
export const GROUP = "g"

export const kinds: ReadonlyArray<Kind> = [
  { tag: "segment", create: { algorithm: "segment" }, minSuccessRatio: undefined },
  {
    tag: "segment-chain",
    create: { algorithm: "segment", fallback: ["snowflake", "uuid_v7"] },
    minSuccessRatio: 0.999
  },
  { tag: "snowflake", create: { algorithm: "snowflake" }, minSuccessRatio: undefined },
  // Separated tokens: unambiguous whatever width {WORKER} renders with.
  { tag: "formatted", create: { algorithm: "formatted", format_template: "F{YYYYMMDD}-{DC}-{WORKER}-{SEQ:10}" }, minSuccessRatio: undefined },
  { tag: "uuid", create: { algorithm: "uuid_v7" }, minSuccessRatio: undefined }
]
