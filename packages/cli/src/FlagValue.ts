/**
 * Flag and argument values checked as the command line is read: a bad one is a usage error
 * (one line naming the flag and what it takes, exit 2; UsageError.ts) before anything is
 * sent — not the server's 400, nor a request the client cannot encode. Bounds the contract
 * declares are read from its schemas.
 */
import { Names, Suggest } from "@idgen/core"
import { Effect, Result, Schema } from "effect"
import { CliError, Param } from "effect/cli"

/** A value read from the text (or number) given, or what was expected instead. */
type Parse<A, B> = (given: A) => Result.Result<B, string>

/** `self` with its value read by `parse`; a failure is a usage error saying what was expected. */
export const parsed = <A, B>(parse: (given: A) => Result.Result<B, string> | Effect.Effect<B, string>) =>
<Kind extends Param.ParamKind>(self: Param.Param<Kind, A>): Param.Param<Kind, B> => {
  // The error names the flag: `parsed` goes right on it, before `optional` or a default.
  if (!Param.isSingle(self)) throw new Error("FlagValue.parsed applies to a flag or argument itself")
  return Param.mapEffect(self, (given) => {
    const result = parse(given)
    return (Result.isResult(result) ? Effect.fromResult(result) : result).pipe(Effect.mapError((expected) =>
      new CliError.InvalidValue({ option: self.name, value: String(given), expected, kind: self.kind })
    ))
  })
}

/**
 * A value the HTTP contract's `schema` accepts, checked with the contract's own bounds. The
 * contract is loaded only when the flag is given: `--help` and the other flags need none of it.
 */
export const contract = <A>(schema: (http: typeof import("@idgen/protocol/http")) => Schema.Codec<A, unknown>) =>
(given: unknown): Effect.Effect<Exclude<A, undefined>, string> =>
  Effect.promise(() => import("@idgen/protocol/http")).pipe(
    // An optional field's schema: a value given decodes to a value, never to its absence.
    Effect.flatMap((http) => Schema.decodeUnknownEffect(schema(http))(given) as Effect.Effect<Exclude<A, undefined>, Schema.SchemaError>),
    // `Expected a value between 0 and 1000000`, then where (`at ["per_second"]`) when in a struct.
    Effect.mapError((error) => {
      const [what, where] = error.message.split("\n")
      const field = where === undefined ? undefined : /at \["(\w+)"\]/.exec(where)?.[1]
      return what!.replace(/^Expected /, "") + (field === undefined ? "" : ` (${field})`)
    })
  )

/** A workspace, group or biz_tag name. */
export const name: Parse<string, string> = (given) =>
  Names.namePattern.test(given) ? Result.succeed(given) : Result.fail(`a name matching ${Names.namePattern.source}`)

/** An integer of at least `minimum` (and at most `maximum`). */
export const intIn = (minimum: number, maximum = Number.MAX_SAFE_INTEGER): Parse<number, number> => (given) =>
  Number.isInteger(given) && given >= minimum && given <= maximum
    ? Result.succeed(given)
    : Result.fail(maximum === Number.MAX_SAFE_INTEGER ? `an integer of at least ${minimum}` : `an integer from ${minimum} to ${maximum}`)

/** A number above `exclusiveMinimum` (seconds of a bench run, …). */
export const above = (exclusiveMinimum: number): Parse<number, number> => (given) =>
  given > exclusiveMinimum ? Result.succeed(given) : Result.fail(`a number above ${exclusiveMinimum}`)

/** A number of at least `minimum`. */
export const atLeast = (minimum: number): Parse<number, number> => (given) =>
  given >= minimum ? Result.succeed(given) : Result.fail(`a number of at least ${minimum}`)

/**
 * Comma-separated names out of `choices` (empty: none): an unknown one is named, with the
 * nearest choice when there is one.
 */
export const listOf = <const C extends string>(choices: ReadonlyArray<C>, what: string): Parse<string, ReadonlyArray<C>> => (given) => {
  const names = given.split(",").map((s) => s.trim()).filter((s) => s !== "")
  const unknown = names.find((name) => !(choices as ReadonlyArray<string>).includes(name))
  if (unknown === undefined) return Result.succeed(names as Array<C>)
  const near = Suggest.closest(unknown, choices)
  return Result.fail(
    `comma-separated ${what} of ${choices.join(", ")} (${JSON.stringify(unknown)} is none of them` +
      (near.length === 0 ? ")" : `; did you mean ${near.map((n) => JSON.stringify(n)).join(" or ")}?)`)
  )
}

/** A fallback chain: comma-separated algorithms. */
export const algorithms = listOf(Names.Algorithm.literals, "algorithms")

const units = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const
const relative = /^(\d+)([smhdw])$/
const dateTime = /^\d{4}-\d{2}-\d{2}(?:[Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:[Zz]|[+-]\d{2}:\d{2}))?$/

/**
 * A point in time as RFC 3339 text in UTC: an RFC 3339 date-time, a date (its midnight UTC)
 * or, when `ago` is allowed, a time back from now (`90s`, `30m`, `1h`, `7d`, `2w`).
 */
export const instant = (options: { readonly ago: boolean }): Parse<string, string> => (given) => {
  const back = options.ago ? relative.exec(given) : null
  const ms = back !== null
    ? Date.now() - Number(back[1]) * units[back[2] as keyof typeof units]
    : dateTime.test(given)
    ? Date.parse(given.replace(" ", "T"))
    : Number.NaN
  return Number.isNaN(ms)
    ? Result.fail(
      `an RFC 3339 time (2026-12-01T09:30:00Z) or a date (2026-12-01)` + (options.ago ? ", or a time ago such as 30m, 1h, 7d" : "")
    )
    : Result.succeed(new Date(ms).toISOString())
}
