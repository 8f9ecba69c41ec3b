/**
 * What importing `@idgen/client` loads, in a project that installed the packed tarballs: every
 * module URL Node resolves for it, as JSON. Then the Node-only entry `@idgen/protocol/grpc`,
 * to show it works where it is asked for.
 */
import { registerHooks } from "node:module"

const loaded: Array<string> = []
registerHooks({
  resolve: (specifier, context, nextResolve) => {
    const resolved = nextResolve(specifier, context)
    loaded.push(resolved.url)
    return resolved
  }
})

const client = await import("@idgen/client")
const forClient = [...loaded]
const grpc = await import("@idgen/protocol/grpc")
console.log(JSON.stringify({
  loaded: forClient,
  client: Object.keys(client).sort(),
  grpcService: Object.keys(grpc.IdServiceDefinition).sort()
}))
