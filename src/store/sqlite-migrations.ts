import type { Database } from "better-sqlite3";

/**
 * The SQLite schema as steps: step N takes a database from `PRAGMA user_version` N to N + 1.
 * Append only. A released step is never edited, because databases in the field already ran
 * it; a change is a new step at the end.
 *
 * Role and status carry no CHECK constraint on purpose: widening a CHECK in SQLite means
 * rebuilding the table, and the TypeScript types already guard what is written.
 */
export const sqliteMigrations: readonly string[] = [
  `
  CREATE TABLE chats (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    model TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    history_hash TEXT,
    binding TEXT
  ) STRICT;

  CREATE INDEX chats_newest_first ON chats (updated_at DESC, created_at DESC);

  -- Partial: most chats never get a hash, and lookups only ever ask for a concrete one.
  CREATE INDEX chats_by_history_hash ON chats (history_hash, updated_at DESC, created_at DESC)
    WHERE history_hash IS NOT NULL;

  CREATE TABLE messages (
    id TEXT PRIMARY KEY,
    chat_id TEXT NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    role TEXT NOT NULL,
    content TEXT NOT NULL,
    parts TEXT,
    reasoning TEXT,
    model TEXT,
    usage TEXT,
    status TEXT NOT NULL,
    error TEXT,
    created_at INTEGER NOT NULL,
    UNIQUE (chat_id, seq)
  ) STRICT;

  -- Lets the chat list count messages and user messages from the index alone.
  CREATE INDEX messages_by_chat_and_role ON messages (chat_id, role);

  CREATE TABLE upstream_chats (
    chat_id TEXT NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
    account_id TEXT NOT NULL,
    upstream_chat_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (chat_id, upstream_chat_id)
  ) STRICT;
  `,
];

/** The database was written by a newer FreeQwenApi; reading it with older code could corrupt it. */
export class SqliteSchemaTooNewError extends Error {
  override readonly name = "SqliteSchemaTooNewError";
  readonly databaseVersion: number;
  readonly knownVersion: number;

  constructor(location: string, databaseVersion: number, knownVersion: number) {
    super(
      `The database ${location} has schema version ${databaseVersion}, but this FreeQwenApi only ` +
        `knows versions up to ${knownVersion}. Upgrade FreeQwenApi, or point DATA_DIR elsewhere.`,
    );
    this.databaseVersion = databaseVersion;
    this.knownVersion = knownVersion;
  }
}

/**
 * Brings the database up to the newest schema this code knows, one step per transaction, and
 * refuses a database that is already newer. `location` only names the database in errors.
 */
export function migrateSqliteDatabase(
  database: Database,
  location: string,
  migrations: readonly string[] = sqliteMigrations,
): void {
  const knownVersion = migrations.length;
  const readVersion = () => database.pragma("user_version", { simple: true }) as number;

  const applyNextStep = database.transaction((): boolean => {
    // Read again under the write lock: another process may have migrated in the meantime.
    const version = readVersion();
    if (version > knownVersion) throw new SqliteSchemaTooNewError(location, version, knownVersion);
    const step = migrations[version];
    if (step === undefined) return false;
    database.exec(step);
    // user_version lives in the database header, so it commits or rolls back with the step.
    database.pragma(`user_version = ${version + 1}`);
    return true;
  });

  const version = readVersion();
  if (version > knownVersion) throw new SqliteSchemaTooNewError(location, version, knownVersion);
  if (version === knownVersion) return;
  while (applyNextStep.immediate()) {}
}
