import { Schema } from "effect"

/** The configuration cannot be used; the message names the setting and why. */
export class ConfigInvalid extends Schema.TaggedError<ConfigInvalid>()("ConfigInvalid", {
  message: Schema.String
}) {}

/** The exit code of a process whose configuration was refused (sysexits' EX_CONFIG). */
export const EXIT_CONFIG = 78
