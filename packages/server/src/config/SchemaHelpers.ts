/** Value schemas the sections share. */
import { Effect, Schema, SchemaIssue, SchemaTransformation } from "effect"

export const Port = Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 65535 }))
export const PositiveInt = Schema.Int.check(Schema.isGreaterThan(0))
export const NonNegativeInt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))
export const IntBetween = (minimum: number, maximum: number) => Schema.Int.check(Schema.isBetween({ minimum, maximum }))
export const Ratio = Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 1 }))
export const NonEmptyString = Schema.String.check(Schema.isMinLength(1))
export const HttpUrl = Schema.String.check(Schema.isPattern(/^https?:\/\/\S+$/))
export const StringRecord = Schema.Record(Schema.String, Schema.String)

/** A struct field that decodes to `value` (file form) when its key is absent. */
export const withDefault = <S extends Schema.Top>(schema: S, value: S["Encoded"]) =>
  schema.pipe(Schema.withDecodingDefaultKey(Effect.succeed(value)))

/** Text in the file, a number for the code: `parse` gives undefined for a text it refuses. */
export const NumberFromText = (parse: (text: string) => number | undefined, format: (n: number) => string, expected: string) =>
  Schema.String.pipe(Schema.decodeTo(
    Schema.Number,
    SchemaTransformation.transformEffect({
      decode: (text: string) => {
        const n = parse(text)
        return n === undefined ? Effect.fail(new SchemaIssue.InvalidValue({ message: expected }, text)) : Effect.succeed(n)
      },
      encode: (n: number) => Effect.succeed(format(n))
    })
  ))
