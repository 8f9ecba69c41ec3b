/**
 * Tenancy: workspaces, their API keys (hashes only), groups and biz_tags.
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"

/** The contract's name rule, enforced by the database too. */
const NAME_RULE = `'^[a-z0-9][a-z0-9_-]{0,63}$'`

/** Every algorithm of the contract. */
const ALGORITHMS_SQL = `ARRAY['segment','snowflake','uuid_v7','uuid_v4','formatted']::text[]`

const statements = [
  `CREATE TABLE workspaces (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name text NOT NULL CONSTRAINT workspaces_name_key UNIQUE CONSTRAINT workspaces_name_check CHECK (name ~ ${NAME_RULE}),
    default_algorithm text NOT NULL DEFAULT 'segment'
      CONSTRAINT workspaces_default_algorithm_check CHECK (default_algorithm = ANY (${ALGORITHMS_SQL})),
    auto_create_biz_tags boolean NOT NULL DEFAULT true,
    rate_limit_per_second integer CONSTRAINT workspaces_rate_limit_per_second_check CHECK (rate_limit_per_second > 0),
    rate_limit_burst integer CONSTRAINT workspaces_rate_limit_burst_check CHECK (rate_limit_burst > 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT workspaces_rate_limit_check CHECK ((rate_limit_per_second IS NULL) = (rate_limit_burst IS NULL))
  )`,
  `CREATE TABLE api_keys (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name text,
    prefix text NOT NULL,
    key_hash char(64) NOT NULL CONSTRAINT api_keys_key_hash_check CHECK (key_hash ~ '^[0-9a-f]{64}$'),
    enabled boolean NOT NULL DEFAULT true,
    expires_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
  )`,
  `CREATE UNIQUE INDEX idx_api_keys_prefix ON api_keys (prefix)`,
  `CREATE INDEX idx_api_keys_workspace ON api_keys (workspace_id)`,
  `CREATE TABLE groups (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name text NOT NULL CONSTRAINT groups_name_check CHECK (name ~ ${NAME_RULE}),
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT groups_workspace_id_name_key UNIQUE (workspace_id, name)
  )`,
  `CREATE TABLE biz_tags (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    group_id uuid NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    name text NOT NULL CONSTRAINT biz_tags_name_check CHECK (name ~ ${NAME_RULE}),
    algorithm text NOT NULL CONSTRAINT biz_tags_algorithm_check CHECK (algorithm = ANY (${ALGORITHMS_SQL})),
    fallback text[] NOT NULL DEFAULT '{}'
      CONSTRAINT biz_tags_fallback_check CHECK (fallback <@ ${ALGORITHMS_SQL} AND array_position(fallback, NULL) IS NULL),
    step bigint NOT NULL CONSTRAINT biz_tags_step_check CHECK (step > 0),
    format_template text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT biz_tags_group_id_name_key UNIQUE (group_id, name)
  )`
]

export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  for (const statement of statements) {
    yield* sql.unsafe(statement)
  }
})
