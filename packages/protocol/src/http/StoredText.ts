/**
 * Text of a request that goes to the database (stored, written to the audit log, or compared
 * with what is stored): PostgreSQL refuses the NUL character in text and JSON, so a schema
 * refuses it, naming the field, instead of the statement failing.
 */
import { Schema } from "effect"

export const StoredText = Schema.String.check(
  Schema.makeFilter((text: string) => !text.includes("\u0000") || "must not contain the NUL character (\\u0000)", {
    expected: "text without the NUL character"
  })
)
