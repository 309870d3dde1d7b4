/** Real SQLite files for the tests: databases with indexes and awkward names, damage, and other processes using them. */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, writeSync } from 'node:fs';
import { createHash } from 'node:crypto';
import Database from 'better-sqlite3';
import { ROOT } from './run-bin.js';

/** A database with several tables, an index, a view, a quoted name and a migrations table. */
export function createSqliteFixture(path: string, options: { journalMode?: 'wal' | 'delete'; rows?: number } = {}): void {
  const db = new Database(path);
  try {
    db.pragma(`journal_mode = ${options.journalMode ?? 'wal'}`);
    db.pragma('user_version = 7');
    db.pragma('application_id = 1234');
    const rows = options.rows ?? 2000;
    db.exec(`
      CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE, name TEXT, created_at TEXT);
      CREATE TABLE orders (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users(id), total REAL, note BLOB);
      CREATE INDEX orders_user ON orders(user_id);
      CREATE TABLE "odd ""name""" (x);
      CREATE TABLE _prisma_migrations (id TEXT PRIMARY KEY, migration_name TEXT, finished_at TEXT);
      CREATE VIEW big_orders AS SELECT * FROM orders WHERE total > 100;
      INSERT INTO _prisma_migrations VALUES ('a', '20260101_init', '2026-01-01 00:00:00'), ('b', '20261120_orders', '2026-11-20 10:00:00');
      INSERT INTO "odd ""name""" VALUES (1), (NULL);
    `);
    db.transaction(() => {
      const user = db.prepare('INSERT INTO users (email, name, created_at) VALUES (?, ?, ?)');
      const order = db.prepare('INSERT INTO orders (user_id, total, note) VALUES (?, ?, ?)');
      for (let i = 1; i <= rows; i++) {
        user.run(`u${i}@example.com`, `user ${i}\nline2`, '2026-11-01');
        order.run(i, i * 1.5, Buffer.alloc(64, i % 256));
        order.run(i, i * 0.25, null);
      }
    })();
  } finally {
    db.close();
  }
}

/** Row counts of every table and an sha256 of every row in rowid order: equal means equal content. */
export function fingerprint(path: string): Record<string, string> {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const tables = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").pluck().all() as string[];
    const out: Record<string, string> = {};
    for (const table of tables) {
      const hash = createHash('sha256');
      const rows = db.prepare(`SELECT * FROM "${table.replace(/"/g, '""')}" ORDER BY rowid`).raw().all();
      for (const row of rows) hash.update(JSON.stringify(row, (_k, v: unknown) => (Buffer.isBuffer(v) ? v.toString('hex') : v)));
      out[table] = `${rows.length}:${hash.digest('hex').slice(0, 16)}`;
    }
    return out;
  } finally {
    db.close();
  }
}

export function countRows(path: string, table: string): number {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return Number(db.prepare(`SELECT count(*) FROM ${table}`).pluck().get());
  } finally {
    db.close();
  }
}

/** Overwrites `bytes` bytes of the file from `offset` with 0x55: pages SQLite will find damaged. */
export function damage(path: string, offset: number, bytes = 4096): void {
  const fd = openSync(path, 'r+');
  try {
    writeSync(fd, Buffer.alloc(bytes, 0x55), 0, bytes, offset);
  } finally {
    closeSync(fd);
  }
}

/** A node child running `script` with better-sqlite3 loadable; `ready` resolves at its first line of stdout. */
function nodeChild(script: string, args: string[]): { child: ChildProcess; ready: Promise<string> } {
  const child = spawn(process.execPath, ['-e', script, '--', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  const ready = new Promise<string>((resolve, reject) => {
    child.stdout!.once('data', (chunk: Buffer) => resolve(chunk.toString()));
    child.once('exit', (code) => reject(new Error(`the helper exited (${code}) before it was ready`)));
  });
  return { child, ready };
}

/** Another process with the database open (idle, inside a read transaction, or holding its write lock) until stopped. */
export async function holdOpen(path: string, options: { hold?: 'idle' | 'read' | 'exclusive' } = {}): Promise<() => Promise<void>> {
  const script = `
    const db = new (require('better-sqlite3'))(process.argv[1], { fileMustExist: true });
    db.prepare('select count(*) from sqlite_schema').get();
    if (process.argv[2] === 'read') { db.exec('BEGIN'); db.prepare('select count(*) from sqlite_schema').get(); }
    if (process.argv[2] === 'exclusive') db.exec('BEGIN EXCLUSIVE');
    process.stdout.write('open\\n');
    setInterval(() => {}, 1000);
    process.on('SIGTERM', () => process.exit(0));`;
  const { child, ready } = nodeChild(script, [path, options.hold ?? 'idle']);
  await ready;
  return async () => {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
  };
}

/** A writer committing one row per transaction into `table (n)` until stopped; resolves to how many it committed. */
export async function startWriter(path: string): Promise<{ stop(): Promise<number> }> {
  const script = `
    const db = new (require('better-sqlite3'))(process.argv[1], { fileMustExist: true, timeout: 10000 });
    db.exec('CREATE TABLE IF NOT EXISTS writes (n INTEGER)');
    const insert = db.prepare('INSERT INTO writes (n) VALUES (?)');
    let n = 0, stop = false;
    process.on('SIGTERM', () => { stop = true; });
    process.stdout.write('writing\\n');
    (function loop() {
      for (let i = 0; i < 20 && !stop; i++) insert.run(++n);
      if (stop) { db.close(); process.stdout.write('committed ' + n + '\\n'); process.exit(0); }
      setImmediate(loop);
    })();`;
  const { child, ready } = nodeChild(script, [path]);
  await ready;
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  let stopped: Promise<number> | undefined;
  return {
    stop: () =>
      (stopped ??= (async () => {
        child.kill('SIGTERM');
        const code = await exited;
        if (code !== 0) throw new Error(`the writer failed (${code})`);
        return Number(/committed (\d+)/.exec(out)?.[1]);
      })()),
  };
}
