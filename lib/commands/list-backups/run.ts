import { readCatalog, selectEntries, type CatalogEntry } from '../../catalog/catalog.js';
import { entryJson } from '../../catalog/entry-json.js';
import { resolveListConfig, type ListBackupsOptions } from './options.js';
import { IntegrityError, NotFoundError } from '../../cli/errors.js';
import { formatBytes, formatDuration } from '../../cli/format.js';
import type { Io } from '../../cli/io.js';
import { openStore } from '../../store/location.js';
import type { Store } from '../../store/store.js';
import { verifyArtifact } from '../../catalog/verify.js';
import { identitiesOf } from '../../crypto/age-file.js';

/**
 * list-backups: every backup in a location with its status, newest first — a table, or NDJSON with --json
 * (the manifest plus `status`). Exit 5 when anything is corrupt, 6 when there is no backup at all.
 */
export async function run(opts: ListBackupsOptions, _args: string[], io: Io): Promise<void> {
  const config = resolveListConfig(opts, io.env);
  const store = await openStore(config.location, config.locationFlag, io.cwd, config.s3);
  // --verify proves each backup as a restore would: sha256 against the manifest, and the whole content — of an
  // encrypted one when --identity holds one of its keys; otherwise its sha256 and age header.
  const identities = config.identities ? await identitiesOf(config.identities) : undefined;
  const keysFor = (entry: CatalogEntry) => {
    const recipients = entry.manifest?.encryption?.recipients;
    return recipients && identities?.recipients.some((r) => recipients.includes(r)) ? identities : undefined;
  };
  // How far each was proven: an encrypted one without its key only by sha256 and age header — said, not hidden.
  const depth = new Map<string, 'content' | 'sha256+header'>();
  const verify = config.verify
    ? (s: Store, entry: CatalogEntry) =>
        verifyArtifact(s, entry, { env: io.env, signal: io.signal, identities: keysFor(entry) }).then((v) => {
          depth.set(entry.id, v.decrypted === false ? 'sha256+header' : 'content');
          return v.release();
        })
    : undefined;
  const entries = selectEntries(await readCatalog(store, { ...(verify ? { verify } : {}), signal: io.signal }), config);
  const now = new Date();
  if (config.json) {
    for (const entry of entries) io.stdout.write(`${JSON.stringify({ ...entryJson(entry), ...(depth.has(entry.id) ? { verified: depth.get(entry.id) } : {}) })}\n`);
  } else if (entries.length > 0) {
    io.stdout.write(table(entries, now, depth));
  }
  const corrupt = entries.filter((e) => e.status === 'corrupt');
  if (corrupt.length > 0) {
    throw new IntegrityError(`${corrupt.length} corrupt backup(s) in ${store.display}: ${corrupt[0]!.id}: ${corrupt[0]!.problem}`, {
      hint: 'never restore these; take a new backup and let cleanup-backups keep the good ones',
    });
  }
  if (!entries.some((e) => e.status === 'ok' || e.status === 'unverified')) {
    throw new NotFoundError(`no backups in ${store.display}${config.group ? ` for group ${config.group}` : ''}${config.kind ? ` of kind ${config.kind}` : ''}`);
  }
}

function table(entries: CatalogEntry[], now: Date, depth: Map<string, string>): string {
  // Base backups say which WAL they need: from their start segment (through their end to be consistent, and
  // onward for point-in-time recovery).
  const wal = entries.some((e) => e.kind === 'postgres-base');
  const walRange = (e: CatalogEntry) => {
    const start = e.manifest?.source.start_wal_segment;
    const end = e.manifest?.source.end_wal_segment;
    return typeof start === 'string' && typeof end === 'string' ? `${start}..${end}` : '-';
  };
  const rows = [
    ['ID', 'KIND', 'GROUP', 'AGE', 'SIZE', ...(wal ? ['WAL NEEDED'] : []), 'STATUS'],
    ...entries.map((e) => [e.id, e.kind ?? '-', e.group ?? '-', formatDuration(now.getTime() - e.time.getTime()), formatBytes(e.size), ...(wal ? [walRange(e)] : []), depth.get(e.id) === 'sha256+header' && e.status === 'ok' ? 'ok (sha256 and age header: no key)' : e.status]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')).join('\n') + '\n';
}
