import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readCatalog } from '../../../lib/catalog/catalog.js';
import { IntegrityError } from '../../../lib/cli/errors.js';
import { verifyArtifact } from '../../../lib/catalog/verify.js';
import { localStore, sampleArtifact, seedBackup } from '../../support/backups.js';
import { tempDir } from '../../support/fixtures.js';

const env = { PATH: process.env.PATH };
const fixture = (name: string) => readFileSync(fileURLToPath(new URL(`../../fixtures/${name}`, import.meta.url)));
const sampleRdb = fixture('sample.rdb');
const sampleDump = fixture('sample.dump');

async function only(dir: string) {
  const store = await localStore(dir);
  const [entry] = await readCatalog(store);
  return { store, entry: entry! };
}

/** Rewrites a backup's manifest so it matches new artifact bytes: what a forger (or a careless copy) does. */
function rewriteManifest(dir: string, name: string, bytes: Buffer): void {
  const path = join(dir, `${name}.manifest.json`);
  const manifest = JSON.parse(readFileSync(path, 'utf8')) as { artifact: { size_bytes: number; sha256: string } };
  manifest.artifact.size_bytes = bytes.length;
  manifest.artifact.sha256 = createHash('sha256').update(bytes).digest('hex');
  writeFileSync(join(dir, name), bytes);
  writeFileSync(path, `${JSON.stringify(manifest)}\n`);
}

describe('verifyArtifact', () => {
  it('proves an artifact against its manifest and its content, and uses a local file in place', async () => {
    const dir = tempDir('verify');
    const m = await seedBackup(await localStore(dir), { time: new Date('2026-11-20T02:00:00Z') });
    const { store, entry } = await only(dir);
    const verified = await verifyArtifact(store, entry, { keepIn: tempDir('keep'), env });
    expect(verified).toMatchObject({ method: 'sha256', path: join(dir, m.artifact.name) });
    const bytes = Buffer.from(sampleArtifact('postgres'));
    bytes[bytes.length - 5] = bytes[bytes.length - 5]! ^ 1; // same size, one bit off
    writeFileSync(join(dir, m.artifact.name), bytes);
    await expect(verifyArtifact(store, entry, { env })).rejects.toThrow(/has sha256 [0-9a-f]{64}, the manifest says/);
    writeFileSync(join(dir, m.artifact.name), 'the');
    await expect(verifyArtifact(store, entry, { env })).rejects.toThrow(/is 3 bytes, the manifest says \d+ \(truncated or altered\)/);
  });

  it('with content: false reads the sha256 only — for a restore that proves the content itself', async () => {
    const dir = tempDir('verify');
    const m = await seedBackup(await localStore(dir), { time: new Date('2026-11-20T02:00:00Z') });
    rewriteManifest(dir, m.artifact.name, sampleArtifact('postgres').subarray(0, 200));
    const forged = await only(dir);
    // The bytes are what the manifest says; only their content could tell, and that is left to the restore.
    await expect(verifyArtifact(forged.store, forged.entry, { env, content: false })).resolves.toMatchObject({ method: 'sha256' });
    await expect(verifyArtifact(forged.store, forged.entry, { env })).rejects.toThrow(IntegrityError);
    const bytes = readFileSync(join(dir, m.artifact.name));
    bytes[10] = bytes[10]! ^ 1;
    writeFileSync(join(dir, m.artifact.name), bytes);
    await expect(verifyArtifact(forged.store, forged.entry, { env, content: false })).rejects.toThrow(/has sha256 [0-9a-f]{64}, the manifest says/);
  });

  it('a truncated artifact whose manifest was rewritten to match is still damage (IntegrityError)', async () => {
    const dir = tempDir('verify');
    const m = await seedBackup(await localStore(dir), { time: new Date('2026-11-20T02:00:00Z') });
    // Cut inside the zstd frame: the decompressor refuses it.
    rewriteManifest(dir, m.artifact.name, sampleArtifact('postgres').subarray(0, 200));
    const cut = await only(dir);
    await expect(verifyArtifact(cut.store, cut.entry, { env })).rejects.toThrow(IntegrityError);
    await expect(verifyArtifact(cut.store, cut.entry, { env })).rejects.toThrow(/does not decompress: zstd/);
    // A complete zstd frame of a truncated archive: the archive's own structure refuses it.
    rewriteManifest(dir, m.artifact.name, execFileSync('zstd', ['-q', '-c'], { input: sampleDump.subarray(0, sampleDump.length - 40) }));
    const short = await only(dir);
    await expect(verifyArtifact(short.store, short.entry, { env })).rejects.toThrow(/pg_dump custom archive: truncated/);
  });

  it("checks the old scripts' files by their own content", async () => {
    const dir = tempDir('verify');
    const script = Buffer.from('--\n-- PostgreSQL database dump\n--\n\nCREATE TABLE t (x int);\n\n--\n-- PostgreSQL database dump complete\n--\n\n');
    writeFileSync(join(dir, 'pg_backup_20261120_0200.sql.gz'), gzipSync(script));
    const gz = await only(dir);
    expect((await verifyArtifact(gz.store, gz.entry, { env })).method).toBe('format');
    writeFileSync(join(dir, 'pg_backup_20261120_0200.sql.gz'), gzipSync(script).subarray(0, 40));
    await expect(verifyArtifact(gz.store, gz.entry, { env })).rejects.toThrow(IntegrityError);
    await expect(verifyArtifact(gz.store, gz.entry, { env })).rejects.toThrow(/does not decompress: gzip/);
    writeFileSync(join(dir, 'pg_backup_20261120_0200.sql.gz'), gzipSync(script.subarray(0, 60)));
    await expect(verifyArtifact(gz.store, gz.entry, { env })).rejects.toThrow(/pg_dump plain script: truncated/);

    const rdbDir = tempDir('verify');
    writeFileSync(join(rdbDir, 'redis_dump_20261120_0200.rdb'), sampleRdb);
    const rdb = await only(rdbDir);
    expect((await verifyArtifact(rdb.store, rdb.entry, { env })).method).toBe('format');
    const broken = Buffer.from(sampleRdb);
    broken[200] = broken[200]! ^ 0xff;
    writeFileSync(join(rdbDir, 'redis_dump_20261120_0200.rdb'), broken);
    await expect(verifyArtifact(rdb.store, rdb.entry, { env })).rejects.toThrow(/CRC-64/);
  });
});
