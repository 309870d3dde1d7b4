import { mkdirSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { AHEAD_DIR, aheadDir, archiveDigest, identityOf, readMarker, readyFiles, RUNNER, sweepMarkers, writeMarker, type AheadMarker } from '../../../../lib/commands/wal-push/ahead.js';
import { claim as claimIn, claimHolder as holderIn, claimText, release as releaseIn } from '../../../../lib/process/claims.js';

const claim = (dir: string, name: string) => claimIn(aheadDir(dir), name);
const claimHolder = (dir: string, name: string) => holderIn(aheadDir(dir), name);
const release = (dir: string, name: string) => releaseIn(aheadDir(dir), name);
import { tempDir } from '../../../support/fixtures.js';

const SEG = (n: number) => `0000000100000000000000${n.toString(16).toUpperCase().padStart(2, '0')}`;

/** A pg_wal with these files and these of them marked ready. */
function walDir(files: string[], ready: string[]): string {
  const dir = tempDir('ahead');
  mkdirSync(join(dir, 'archive_status'));
  for (const f of files) writeFileSync(join(dir, f), `content of ${f}`);
  for (const f of ready) writeFileSync(join(dir, 'archive_status', `${f}.ready`), '');
  mkdirSync(join(dir, AHEAD_DIR));
  return dir;
}

function markerFor(dir: string, file: string, archive = archiveDigest('/backups', 'g')): AheadMarker {
  return { version: 1, file, archive, sha256: 'a'.repeat(64), storedBytes: 10, ...identityOf(statSync(join(dir, file))) };
}

describe('archiving ahead: markers', () => {
  it('a marker vouches only for the same archive and the very file it was made for', async () => {
    const dir = walDir([SEG(1), SEG(2), SEG(3)], []);
    const archive = archiveDigest('/backups', 'g');
    await writeMarker(dir, markerFor(dir, SEG(1)));
    expect(await readMarker(dir, SEG(1), archive)).toMatchObject({ file: SEG(1), sha256: 'a'.repeat(64) });

    // Another location or group: not this archive's marker, and it is removed.
    await writeMarker(dir, markerFor(dir, SEG(2)));
    expect(await readMarker(dir, SEG(2), archiveDigest('/elsewhere', 'g'))).toBeUndefined();
    expect(readdirSync(join(dir, AHEAD_DIR))).not.toContain(SEG(2));

    // The file changed since (rewritten, or a recycled file under the name): no longer vouched for.
    await writeMarker(dir, markerFor(dir, SEG(3)));
    utimesSync(join(dir, SEG(3)), new Date(), new Date(Date.now() + 5000));
    expect(await readMarker(dir, SEG(3), archive)).toBeUndefined();
  });

  it('a torn, forged or misnamed marker vouches for nothing', async () => {
    const dir = walDir([SEG(1), SEG(2)], []);
    const archive = archiveDigest('/backups', 'g');
    writeFileSync(join(dir, AHEAD_DIR, SEG(1)), '{"version":1,"fi');
    expect(await readMarker(dir, SEG(1), archive)).toBeUndefined();
    // A marker copied under another file's name.
    writeFileSync(join(dir, AHEAD_DIR, SEG(2)), JSON.stringify(markerFor(dir, SEG(1))));
    expect(await readMarker(dir, SEG(2), archive)).toBeUndefined();
    writeFileSync(join(dir, AHEAD_DIR, SEG(2)), JSON.stringify({ ...markerFor(dir, SEG(2)), sha256: '../x' }));
    expect(await readMarker(dir, SEG(2), archive)).toBeUndefined();
    expect(readdirSync(join(dir, AHEAD_DIR))).toEqual([]);
    // No marker at all.
    expect(await readMarker(walDir([SEG(1)], []), SEG(1), archive)).toBeUndefined();
  });

  it('the sweep removes markers of files no longer waiting and dead temporaries, nothing else', async () => {
    const dir = walDir([SEG(1), SEG(2)], [SEG(2)]);
    await writeMarker(dir, markerFor(dir, SEG(1)));
    await writeMarker(dir, markerFor(dir, SEG(2)));
    writeFileSync(join(dir, AHEAD_DIR, `${SEG(3)}.tmp-999999999`), '');
    writeFileSync(join(dir, AHEAD_DIR, 'notes.txt'), 'the operator put this here');
    await sweepMarkers(dir);
    expect(readdirSync(join(dir, AHEAD_DIR)).sort()).toEqual([SEG(2), 'notes.txt']);
  });
});

describe('archiving ahead: which files', () => {
  it("takes ready files in the archiver's order, history first, without itself, the marked ones or strays", async () => {
    const files = [SEG(1), SEG(2), SEG(3), SEG(4), '00000002.history'];
    const dir = walDir(files, [SEG(4), SEG(2), SEG(1), SEG(3), '00000002.history', 'not-a-wal-file']);
    await writeMarker(dir, markerFor(dir, SEG(3)));
    expect(await readyFiles(dir, SEG(1), 10)).toEqual(['00000002.history', SEG(2), SEG(4)]);
    expect(await readyFiles(dir, SEG(1), 2)).toEqual(['00000002.history', SEG(2)]);
    expect(await readyFiles(dir, SEG(1), 0)).toEqual([]);
  });

  it('leaves out files someone is storing (claimed)', async () => {
    const dir = walDir([SEG(1), SEG(2), SEG(3)], [SEG(1), SEG(2), SEG(3)]);
    expect(await claim(dir, SEG(2))).toBe(true);
    expect(await readyFiles(dir, '', 10)).toEqual([SEG(1), SEG(3)]);
  });

  it('none outside a pg_wal (no archive_status): a file pushed by hand is pushed alone', async () => {
    const dir = tempDir('ahead-plain');
    writeFileSync(join(dir, SEG(1)), 'x');
    expect(await readyFiles(dir, SEG(1), 10)).toEqual([]);
  });
});

describe('archiving ahead: claims', () => {
  it('one holder at a time; a live holder keeps it, a dead one loses it, release frees it', async () => {
    const dir = walDir([SEG(1)], [SEG(1)]);
    expect(await claim(dir, SEG(1))).toBe(true);
    expect(await claimHolder(dir, SEG(1))).toBe(process.pid);
    expect(readFileSync(join(dir, AHEAD_DIR, `${SEG(1)}.claim`), 'utf8')).toMatch(new RegExp(`^${process.pid} \\d+$`));
    // Held already (by this process): a second claim is refused.
    expect(await claim(dir, SEG(1))).toBe(false);
    await release(dir, SEG(1));
    expect(await claimHolder(dir, SEG(1))).toBeUndefined();

    // Another live process's claim stands; once it is gone, the claim is taken over.
    const other = spawn('sleep', ['30']);
    try {
      writeFileSync(join(dir, AHEAD_DIR, `${RUNNER}.claim`), claimText(other.pid!));
      expect(await claim(dir, RUNNER)).toBe(false);
      expect(await claimHolder(dir, RUNNER)).toBe(other.pid);
      // release() gives up only this process's own claim.
      await release(dir, RUNNER);
      expect(await claimHolder(dir, RUNNER)).toBe(other.pid);
    } finally {
      other.kill('SIGKILL');
    }
    await new Promise((r) => other.once('exit', r));
    const gone = spawnSync('true').pid!;
    writeFileSync(join(dir, AHEAD_DIR, `${SEG(1)}.claim`), String(gone));
    expect(await claimHolder(dir, SEG(1))).toBeUndefined();
    writeFileSync(join(dir, AHEAD_DIR, `${SEG(1)}.claim`), String(other.pid));
    expect(await claim(dir, SEG(1))).toBe(true);
    // A pid that now belongs to another process (reused after a crash) holds nothing: pid 1 is alive, but
    // did not write this claim.
    writeFileSync(join(dir, AHEAD_DIR, `${RUNNER}.claim`), '1 12345');
    expect(await claimHolder(dir, RUNNER)).toBeUndefined();
    writeFileSync(join(dir, AHEAD_DIR, `${RUNNER}.claim`), '1');
    expect(await claimHolder(dir, RUNNER)).toBeUndefined();
    // A torn or forged claim holds nothing.
    writeFileSync(join(dir, AHEAD_DIR, `${RUNNER}.claim`), '');
    expect(await claim(dir, RUNNER)).toBe(true);
    writeFileSync(join(dir, AHEAD_DIR, `${SEG(1)}.claim`), '1; rm -rf /');
    expect(await claimHolder(dir, SEG(1))).toBeUndefined();
  });

  it('the sweep removes claims of processes that are gone, and their temporaries', async () => {
    const dir = walDir([SEG(1), SEG(2)], [SEG(1), SEG(2)]);
    const gone = spawnSync('true').pid!;
    writeFileSync(join(dir, AHEAD_DIR, `${SEG(1)}.claim`), String(gone));
    writeFileSync(join(dir, AHEAD_DIR, `${SEG(2)}.claim.tmp-${gone}`), String(gone));
    expect(await claim(dir, SEG(2))).toBe(true);
    await sweepMarkers(dir);
    expect(readdirSync(join(dir, AHEAD_DIR))).toEqual([`${SEG(2)}.claim`]);
  });
});
