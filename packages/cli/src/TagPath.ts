/**
 * `workspace/group/biz_tag`, as commands take it.
 */
import { Effect } from "effect"
import { CliFailure } from "./CliFailure.ts"

export interface TagPath {
  readonly workspace: string
  readonly group: string
  readonly name: string
}

export const parse = (path: string): Effect.Effect<TagPath, CliFailure> => {
  const parts = path.split("/")
  return parts.length === 3 && parts.every((part) => part !== "")
    ? Effect.succeed({ workspace: parts[0]!, group: parts[1]!, name: parts[2]! })
    : Effect.fail(new CliFailure({ message: `expected workspace/group/biz_tag, got ${JSON.stringify(path)}` }))
}
