/**
 * `workspace/group/biz_tag`, as commands take it: checked as the command line is read (a
 * bad one is a usage error, exit 2).
 */
import { Names } from "@idgen/core"
import { Effect, Result } from "effect"
import { CliFailure } from "./CliFailure.ts"

export interface TagPath {
  readonly workspace: string
  readonly group: string
  readonly name: string
  /** As given: `workspace/group/biz_tag`. */
  readonly text: string
}

/** The path `text` names, or what a path is. */
export const fromText = (text: string): Result.Result<TagPath, string> => {
  const parts = text.split("/")
  return parts.length === 3 && parts.every((part) => Names.namePattern.test(part))
    ? Result.succeed({ workspace: parts[0]!, group: parts[1]!, name: parts[2]!, text })
    : Result.fail(`workspace/group/biz_tag, each ${Names.namePattern.source}`)
}

/** `fromText` for a path the command made itself (bench's default). */
export const parse = (text: string): Effect.Effect<TagPath, CliFailure> =>
  Effect.fromResult(fromText(text)).pipe(
    Effect.mapError((expected) => new CliFailure({ message: `expected ${expected}, got ${JSON.stringify(text)}` }))
  )
