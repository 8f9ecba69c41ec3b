/**
 * The Node options `npm start` runs the server with (package.json `scripts.start`, the one
 * place they are written): the test harness and the bench start servers with the same, and
 * test/operations/deploy.test.ts holds the container's ENTRYPOINT to them.
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"

const root = join(import.meta.dirname, "..")

/** The flags of this tree's `npm start`, or of the checkout at `tree` (the startup bench's other tree). */
export const startFlags = (tree: string = root): Array<string> => {
  const scripts = JSON.parse(readFileSync(join(tree, "package.json"), "utf8")).scripts as Record<string, string>
  const words = scripts["start"]!.split(/\s+/)
  return words.slice(1).filter((word) => word.startsWith("--"))
}
