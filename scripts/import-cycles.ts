/**
 * Part of `npm run lint`: fails on an import cycle in the packages' sources, between two
 * modules or between two folders (`packages/server/src/http` → `generate` → `http`). A folder
 * cycle means neither folder can be understood, tested or moved without the other, so the
 * layers of docs/architecture.md hold only while there is none. Each cycle is printed with
 * one import per step, to say where to cut it.
 *
 * Folders are the first level below a package's `src/`; a package's root files (`index.ts`,
 * `App.ts`, `main.js`, the CLI's helpers) are its entry points and wiring, outside the
 * folder graph. Type-only imports count: they tie the folders together as much as others.
 * dependency-cruiser parses with swc (TypeScript 7 has no JavaScript API it can use).
 */
import type { ICruiseResult } from "dependency-cruiser"

type Graph = Map<string, Map<string, string>>

const folderOf = (path: string): string | undefined => /^(packages\/[^/]+\/src\/[^/]+)\//.exec(path)?.[1]

/** The strongly connected components of more than one node (Tarjan). */
const cycles = (graph: Graph): Array<Array<string>> => {
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: Array<string> = []
  const onStack = new Set<string>()
  const found: Array<Array<string>> = []
  const visit = (node: string) => {
    index.set(node, index.size)
    low.set(node, index.get(node)!)
    stack.push(node)
    onStack.add(node)
    for (const next of graph.get(node)?.keys() ?? []) {
      if (!index.has(next)) {
        visit(next)
        low.set(node, Math.min(low.get(node)!, low.get(next)!))
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node)!, index.get(next)!))
      }
    }
    if (low.get(node) === index.get(node)) {
      const component: Array<string> = []
      let member: string
      do {
        member = stack.pop()!
        onStack.delete(member)
        component.push(member)
      } while (member !== node)
      if (component.length > 1) found.push(component.sort())
    }
  }
  for (const node of graph.keys()) if (!index.has(node)) visit(node)
  return found
}

const addEdge = (graph: Graph, from: string, to: string, example: string) => {
  const edges = graph.get(from) ?? new Map<string, string>()
  if (!edges.has(to)) edges.set(to, example)
  graph.set(from, edges)
}

// A worktree installed before these devDependencies came says what to do, not just "not found".
const { cruise } = await import("dependency-cruiser").catch(() => {
  console.error("import-cycles: dependency-cruiser is not installed here; run npm ci (or npm install)")
  return process.exit(1)
})

const { output } = await cruise(["packages"], {
  parser: "swc",
  includeOnly: "^packages/[^/]+/src/",
  exclude: { path: "/(dist|gen)/" },
  doNotFollow: { path: "node_modules" }
})
const result = output as ICruiseResult

const modules: Graph = new Map()
const folders: Graph = new Map()
for (const module of result.modules) {
  for (const dependency of module.dependencies) {
    if (dependency.couldNotResolve || dependency.coreModule) continue
    const example = `${module.source} -> ${dependency.resolved}`
    addEdge(modules, module.source, dependency.resolved, example)
    const from = folderOf(module.source)
    const to = folderOf(dependency.resolved)
    if (from !== undefined && to !== undefined && from !== to) addEdge(folders, from, to, example)
  }
}

/** The shortest path from `from` to `to` inside `component` (breadth first), as nodes. */
const shortestPath = (graph: Graph, component: ReadonlySet<string>, from: string, to: string) => {
  const previous = new Map<string, string>([[from, from]])
  const queue = [from]
  while (queue.length > 0) {
    const node = queue.shift()!
    if (node === to) break
    for (const next of graph.get(node)?.keys() ?? []) {
      if (component.has(next) && !previous.has(next)) {
        previous.set(next, node)
        queue.push(next)
      }
    }
  }
  const path = [to]
  while (path[0] !== from) path.unshift(previous.get(path[0]!)!)
  return path
}

/** Each component as its shortest cycles (one per edge, the same cycle once), an import per step. */
const report = (kind: string, graph: Graph) =>
  cycles(graph).flatMap((members) => {
    const component = new Set(members)
    const seen = new Set<string>()
    const found: Array<Array<string>> = []
    for (const from of members) {
      for (const to of graph.get(from)?.keys() ?? []) {
        if (!component.has(to)) continue
        const loop = [from, ...shortestPath(graph, component, to, from)]
        const key = [...new Set(loop)].sort().join(" ")
        if (!seen.has(key)) {
          seen.add(key)
          found.push(loop)
        }
      }
    }
    return found.sort((a, b) => a.length - b.length).map((loop) =>
      `import cycle between ${kind}: ${loop.join(" -> ")}\n` +
      loop.slice(1).map((to, i) => `    ${graph.get(loop[i]!)!.get(to)}`).join("\n")
    )
  })

const problems = [...report("folders", folders), ...report("modules", modules)]
const shown = 12
if (problems.length > 0) {
  console.error(problems.slice(0, shown).join("\n"))
  if (problems.length > shown) console.error(`… and ${problems.length - shown} more through the same imports`)
  process.exitCode = 1
} else {
  const folderCount = new Set(result.modules.map((module) => folderOf(module.source)).filter((f) => f !== undefined)).size
  console.log(`no import cycles (${result.modules.length} modules, ${folderCount} folders)`)
}
