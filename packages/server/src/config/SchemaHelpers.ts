/**
 * Building blocks of the configuration file schema (`ConfigLoader`, `OperationsConfig`):
 * every key optional with a default, sections that default to `{}`.
 */
import { Effect, Schema } from "effect"

export const Port = Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 65535 }))
export const PositiveInt = Schema.Int.check(Schema.isGreaterThan(0))

export const withDefault = <S extends Schema.Top>(schema: S, value: S["Encoded"]) =>
  schema.pipe(Schema.withDecodingDefaultKey(Effect.succeed(value)))

export const section = <F extends Schema.Struct.Fields>(fields: F) => withDefault(Schema.Struct(fields), {} as never)
