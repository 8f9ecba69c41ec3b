/**
 * A deleted biz_tag created again is a new incarnation whose numbers all lie above
 * everything the old one was handed: two server processes on one PostgreSQL with the Redis
 * segment pool (defaults: pieces of 100,000, 20 per refill), as the audit ran it, and one node
 * on the embedded store. "Handed" is read from the operator list before the deletion: the
 * datacenter's range minus what `remaining` says is left, so the check also covers what sat
 * unissued in the nodes' buffers and in the pool.
 */
import { assert, layer } from "@effect/vitest"
import { DatacenterRange } from "@idgen/core"
import { Context, Effect, Layer } from "effect"
import { eventually } from "../support/Eventually.ts"
import { OwnRedis } from "../support/OwnRedis.ts"
import { type PairShape, pairLayer } from "../support/ServerPair.ts"
import {
  assertError,
  createBizTag,
  type Response,
  ServerProcess,
  type ServerProcessShape,
  workspaceWithKey
} from "../support/ServerProcess.ts"

class Pair extends Context.Service<Pair, PairShape>()("test/tenancy/recreate/Pair") {}

const admin = "/api/v1/admin"

interface Tag {
  readonly ws: string
  readonly apiKey: string
  readonly body: Record<string, unknown> & { readonly name: string }
  /** The counter value of an ID (formatted IDs carry it after their prefix). */
  readonly seq: (id: string) => bigint
}

const batch = (server: ServerProcessShape, tag: Tag, size: number) =>
  server.request("POST", "/api/v1/generate/batch", {
    apiKey: tag.apiKey,
    json: { workspace: tag.ws, group: "g", biz_tag: tag.body.name, size }
  })

/** The counter values of a successful batch. */
const seqsOf = (tag: Tag) => (response: Response): Array<bigint> => {
  assert.strictEqual(response.status, 200, response.text)
  return (response.json.ids as Array<string>).map(tag.seq)
}

const seqs = (server: ServerProcessShape, tag: Tag, size: number) => Effect.map(batch(server, tag, size), seqsOf(tag))

/** The highest number this datacenter (0) handed out for the biz_tag: to nodes and to the pool. */
const handedOut = (server: ServerProcessShape, tag: Tag) =>
  Effect.map(server.request("GET", `${admin}/workspaces/${tag.ws}/biz-tags`, { admin: true }), (listed) => {
    assert.strictEqual(listed.status, 200, listed.text)
    const row = listed.json.find((t: any) => t.name === tag.body.name)
    return BigInt(DatacenterRange.DEFAULT_RANGE_SIZE - row.remaining)
  })

const remove = (server: ServerProcessShape, tag: Tag) =>
  Effect.map(server.request("DELETE", `${admin}/workspaces/${tag.ws}/biz-tags/g/${tag.body.name}`, { admin: true }), (res) => {
    assert.strictEqual(res.status, 204, res.text)
  })

/** A 404 that says the biz_tag was deleted, within 2 s. */
const answersDeleted = (server: ServerProcessShape, tag: Tag) =>
  Effect.map(
    eventually("404 after the deletion", 2_000, Effect.map(batch(server, tag, 2), (res) => res.status === 404 ? res : undefined)),
    (gone) => assert.isTrue(assertError(gone, 404, "IDGEN-COMMON-0007").details.deleted)
  )

/** `idgen_segment_buffered_ids` of the biz_tag on `server`: numbers its actor holds (0 without one). */
const buffered = (server: ServerProcessShape, tag: Tag) =>
  Effect.map(server.request("GET", "/metrics"), (res) => {
    const line = res.text.split("\n").find((l) =>
      l.startsWith("idgen_segment_buffered_ids{") && l.includes(`workspace="${tag.ws}"`) && l.includes(`biz_tag="${tag.body.name}"`)
    )
    assert.isDefined(line, res.text)
    return Number(line!.slice(line!.lastIndexOf(" ") + 1))
  })

const max = (values: ReadonlyArray<bigint>) => values.reduce((m, v) => (v > m ? v : m))
const min = (values: ReadonlyArray<bigint>) => values.reduce((m, v) => (v < m ? v : m))

const assertUnique = (values: ReadonlyArray<bigint>) =>
  assert.strictEqual(new Set(values).size, values.length, `a number was issued twice: ${values.join(" ")}`)

const setUp = (server: ServerProcessShape, ws: string, body: Tag["body"], seq: Tag["seq"]) =>
  Effect.gen(function*() {
    const apiKey = yield* workspaceWithKey(server, { name: ws })
    yield* createBizTag(server, ws, body)
    return { ws, apiKey, body, seq } satisfies Tag
  })

const decimal = (id: string) => BigInt(id)

layer(Layer.provideMerge(pairLayer(Pair, "recreate"), OwnRedis.layer), { timeout: "120 seconds", excludeTestServices: true })(
  "a re-created biz_tag on two nodes with the Redis segment pool",
  (it) => {
    it.effect("the audit's steps: after DELETE and POST, every node's first ID is above every number the old incarnation was handed", () =>
      Effect.gen(function*() {
        const { a, b } = yield* Pair
        const tag = yield* setUp(a, "re-seg", { group: "g", name: "seg", algorithm: "segment", step: 100 }, decimal)
        const old = [...yield* seqs(a, tag, 3), ...yield* seqs(a, tag, 2), ...yield* seqs(b, tag, 3), ...yield* seqs(b, tag, 2)]
        assertUnique(old)
        const handed = yield* handedOut(a, tag)
        assert.isTrue(handed >= max(old))

        for (const server of [a, b]) assert.isAbove(yield* buffered(server, tag), 0)

        yield* remove(a, tag)
        for (const server of [a, b]) {
          yield* answersDeleted(server, tag)
          // Learning of the deletion, each node drops the old incarnation's buffers.
          yield* eventually("the old buffers dropped", 2_000, Effect.map(buffered(server, tag), (n) => n === 0))
        }
        yield* createBizTag(a, tag.ws, tag.body)

        const fresh = {
          a: [...yield* seqs(a, tag, 3), ...yield* seqs(a, tag, 2)],
          b: [...yield* seqs(b, tag, 3), ...yield* seqs(b, tag, 2)]
        }
        const all = [...fresh.a, ...fresh.b]
        assertUnique([...old, ...all])
        assert.isTrue(min(fresh.a) > max(old) && min(fresh.b) > max(old), `old ${old.join(" ")}; new a ${fresh.a.join(" ")}, b ${fresh.b.join(" ")}`)
        assert.isTrue(min(all) > handed, `new ${all.join(" ")} not above ${handed}, the old incarnation's highest number handed out`)
      }))

    it.effect("formatted, node B paused through DELETE and POST (it never saw the deletion): B's first IDs after it learns lie above the old range", () =>
      Effect.gen(function*() {
        const { a, b } = yield* Pair
        const tag = yield* setUp(
          a,
          "re-fmt",
          { group: "g", name: "inv", algorithm: "formatted", format_template: "INV{SEQ}", step: 100 },
          (id) => BigInt(id.slice("INV".length))
        )
        const old = [...yield* seqs(a, tag, 3), ...yield* seqs(b, tag, 3)]
        const handed = yield* handedOut(a, tag)

        const paused = b.pid()!
        yield* Effect.acquireRelease(
          Effect.sync(() => process.kill(paused, "SIGSTOP")),
          () => Effect.sync(() => process.kill(paused, "SIGCONT"))
        )
        yield* remove(a, tag)
        yield* createBizTag(a, tag.ws, tag.body)
        const fromA = yield* seqs(a, tag, 3)
        process.kill(paused, "SIGCONT")

        // B holds the old record and its buffer until it hears of the change (≤ 2 s).
        const first = yield* eventually(
          "node B serves the new incarnation",
          2_000,
          Effect.map(batch(b, tag, 3), (res) => {
            const values = seqsOf(tag)(res)
            old.push(...values.filter((v) => v <= handed))
            return values.some((v) => v > handed) ? values : undefined
          })
        )
        const fromB = [...first.filter((v) => v > handed), ...yield* seqs(b, tag, 3), ...yield* seqs(b, tag, 3)]
        assertUnique([...old, ...fromA, ...fromB])
        assert.isTrue(min(fromA) > handed, `A: ${fromA.join(" ")} not above ${handed}`)
        assert.isTrue(min(fromB) > handed, `B: ${fromB.join(" ")} not above ${handed}`)
      }))
  }
)

layer(ServerProcess.layer({ env: { IDGEN_DATABASE_URL: "" } }), { excludeTestServices: true, timeout: 120_000 })(
  "a re-created biz_tag on the embedded store",
  (it) => {
    it.effect("the first ID after DELETE and POST is above the whole range the node was handed, not the next of its buffer", () =>
      Effect.gen(function*() {
        const node = yield* ServerProcess
        const tag = yield* setUp(node, "re-embedded", { group: "g", name: "seg", algorithm: "segment", step: 100 }, decimal)
        const old = [...yield* seqs(node, tag, 3), ...yield* seqs(node, tag, 5)]
        const handed = yield* handedOut(node, tag)
        assert.isTrue(handed > max(old) + 1n, `the node holds unissued numbers up to ${handed}`)

        yield* remove(node, tag)
        assertError(yield* batch(node, tag, 2), 404, "IDGEN-COMMON-0007")
        yield* createBizTag(node, tag.ws, tag.body)
        const fresh = [...yield* seqs(node, tag, 3), ...yield* seqs(node, tag, 2)]
        assertUnique([...old, ...fresh])
        assert.isTrue(min(fresh) > handed, `new ${fresh.join(" ")} not above ${handed}`)
      }))
  }
)
