import { Schema } from "effect"

/** The configuration cannot be used; the message names the setting and why. */
export class ConfigInvalid extends Schema.TaggedError<ConfigInvalid>()("ConfigInvalid", {
  message: Schema.String
}) {}
