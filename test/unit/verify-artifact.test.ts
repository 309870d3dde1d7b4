import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readCatalog } from '../../lib/catalog.js';
import { IntegrityError } from '../../lib/errors.js';
import { verifyArtifact } from '../../lib/verify-artifact.js';
import { localStore, seedBackup } from '../support/backups.js';
import { tempDir } from '../support/fixtures.js';

const sampleRdb = readFileSync(fileURLToPath(new URL('../fixtures/sample.rdb', import.meta.url)));

async function only(dir: string) {
  const store = await localStore(dir);
  const [entry] = await readCatalog(store);
  return { store, entry: entry! };
}

describe('verifyArtifact', () => {
  it('proves an artifact against its manifest and uses a local file in place', async () => {
    const dir = tempDir('verify');
    const m = await seedBackup(await localStore(dir), { time: new Date('2026-11-20T02:00:00Z'), content: 'the dump' });
    const { store, entry } = await only(dir);
    const verified = await verifyArtifact(store, entry, { keepIn: tempDir('keep') });
    expect(verified).toMatchObject({ method: 'sha256', path: join(dir, m.artifact.name) });
    writeFileSync(join(dir, m.artifact.name), 'the dumq'); // same size, one byte off
    await expect(verifyArtifact(store, entry)).rejects.toThrow(/has sha256 [0-9a-f]{64}, the manifest says/);
    writeFileSync(join(dir, m.artifact.name), 'the');
    await expect(verifyArtifact(store, entry)).rejects.toThrow(/is 3 bytes, the manifest says 8 \(truncated or altered\)/);
  });

  it("checks the old scripts' files by their own format", async () => {
    const dir = tempDir('verify');
    writeFileSync(join(dir, 'pg_backup_20261120_0200.sql.gz'), gzipSync(Buffer.from('CREATE TABLE t (x int);\n'.repeat(1000))));
    const gz = await only(dir);
    expect((await verifyArtifact(gz.store, gz.entry)).method).toBe('format');
    writeFileSync(join(dir, 'pg_backup_20261120_0200.sql.gz'), readFileSync(join(dir, 'pg_backup_20261120_0200.sql.gz')).subarray(0, 40));
    await expect(verifyArtifact(gz.store, gz.entry)).rejects.toThrow(IntegrityError);
    await expect(verifyArtifact(gz.store, gz.entry)).rejects.toThrow(/is not a complete gzip stream/);

    const rdbDir = tempDir('verify');
    writeFileSync(join(rdbDir, 'redis_dump_20261120_0200.rdb'), sampleRdb);
    const rdb = await only(rdbDir);
    expect((await verifyArtifact(rdb.store, rdb.entry)).method).toBe('format');
    const broken = Buffer.from(sampleRdb);
    broken[200] = broken[200]! ^ 0xff;
    writeFileSync(join(rdbDir, 'redis_dump_20261120_0200.rdb'), broken);
    await expect(verifyArtifact(rdb.store, rdb.entry)).rejects.toThrow(/CRC-64/);
  });
});
