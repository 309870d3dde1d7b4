/** What the SQLite worker does on request: every call into the library, by name (see engine.ts). */
import { databaseInUse } from './in-use.js';
import { inspectDatabase } from './inspect.js';
import { setJournalMode } from './journal-mode.js';
import { readOnlyQuery, tableRows } from './query.js';
import { takeSnapshot } from './snapshot.js';

export const OPS = {
  snapshot: takeSnapshot,
  inspect: inspectDatabase,
  inUse: databaseInUse,
  journalMode: setJournalMode,
  query: readOnlyQuery,
  tableRows,
};

export type Ops = typeof OPS;
export type OpName = keyof Ops;
