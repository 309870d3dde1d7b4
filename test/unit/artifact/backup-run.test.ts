import { readdirSync } from 'node:fs';
import { PassThrough, type Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { produceBackup, type BackupPlan, type Output } from '../../../lib/artifact/backup-run.js';
import { spawnChild } from '../../../lib/process/child.js';
import { StoreError } from '../../../lib/cli/errors.js';
import { createLog, type Io } from '../../../lib/cli/io.js';
import type { Producer } from '../../../lib/artifact/pipeline.js';
import type { DeleteResult, Store, StoreEntry } from '../../../lib/store/store.js';
import { tempDir } from '../../support/fixtures.js';

const START = new Date('2026-11-24T01:02:03Z');

/** A remote store (no local writer) that records the order of events and holds what was put. */
class FakeRemote implements Store {
  readonly display = 's3://fake/';
  readonly objects = new Map<string, Buffer>();
  constructor(
    private readonly events: string[],
    private readonly check: () => Promise<void> = async () => {},
  ) {}
  async prepareForWrite(): Promise<void> {
    this.events.push('check');
    await this.check();
  }
  async put(name: string, body: Readable): Promise<{ size: number }> {
    this.events.push(`put ${name}`);
    const chunks: Buffer[] = [];
    for await (const chunk of body) chunks.push(chunk as Buffer);
    this.objects.set(name, Buffer.concat(chunks));
    return { size: this.objects.get(name)!.length };
  }
  async get(): Promise<Readable> {
    throw new Error('not used');
  }
  async stat(name: string): Promise<StoreEntry | undefined> {
    const data = this.objects.get(name);
    return data ? { name, size: data.length, modified: START } : undefined;
  }
  async *list(namePrefix = ''): AsyncIterable<StoreEntry> {
    for (const [name, data] of this.objects) if (name.startsWith(namePrefix)) yield { name, size: data.length, modified: new Date() };
  }
  async deleteMany(): Promise<DeleteResult> {
    return { deleted: [], failed: [] };
  }
  locate(name: string): string {
    return `s3://fake/${name}`;
  }
  lockPath(): string {
    return '/nonexistent';
  }
}

function fakeIo(signal = new AbortController().signal): Io {
  const stderr = new PassThrough();
  return {
    tool: 'pg-backup',
    stdout: new PassThrough(),
    stderr,
    stdin: new PassThrough(),
    env: { PATH: process.env.PATH },
    cwd: '/',
    signal,
    log: createLog('pg-backup', stderr, false),
    redact: (text: string) => text,
  };
}

function plan(store: Store, spoolDir: string, unchecked: boolean): BackupPlan {
  const output: Output = { store, compression: 'none', zstdPath: undefined, unchecked };
  const s3 = { spoolDir } as NonNullable<BackupPlan['config']['s3']>;
  return {
    kind: 'postgres',
    group: 'app',
    ext: 'sql',
    output,
    config: { location: 's3://fake/', locationFlag: '--to', s3, toStdout: false, json: false, trigger: 'manual', progress: false },
    startedAt: START,
  };
}

/** A child producer (sh) that records when it was started. */
function shell(script: string, events: string[]): Producer {
  return {
    kind: 'child',
    start: (stdout, signal) => {
      events.push('producer started');
      return spawnChild('sh', '/bin/sh', ['-c', script], { env: { PATH: process.env.PATH }, stdout, signal });
    },
  };
}

describe('produceBackup to a remote store left unchecked', () => {
  it('starts the producer first, then checks the store and takes the next free name for the upload', async () => {
    const events: string[] = [];
    const store = new FakeRemote(events);
    store.objects.set('pg_app_20261124T010203Z.sql', Buffer.from('an earlier backup in the same second'));
    const backup = await produceBackup(plan(store, tempDir('spool'), true), shell('printf "dump bytes"', events), fakeIo());
    expect(events).toEqual(['producer started', 'check', 'put pg_app_20261124T010204Z.sql']);
    expect(backup.name).toBe('pg_app_20261124T010204Z.sql');
    expect(backup.digest.bytes).toBe(10);
    expect(store.objects.get(backup.name)?.toString()).toBe('dump bytes');
  });

  it('a checked store is checked before the producer starts', async () => {
    const events: string[] = [];
    const store = new FakeRemote(events);
    await store.prepareForWrite(); // what openOutput does without checkRemoteLater
    await produceBackup(plan(store, tempDir('spool'), false), shell('printf x', events), fakeIo());
    expect(events).toEqual(['check', 'producer started', 'put pg_app_20261124T010203Z.sql']);
  });

  it('a failing check stops the producer, uploads nothing, removes the spool and reports the check\'s error', async () => {
    const events: string[] = [];
    const spoolDir = tempDir('spool');
    const store = new FakeRemote(events, async () => {
      await new Promise((r) => setTimeout(r, 50));
      throw new StoreError('cannot use s3://fake/: bucket fake does not exist');
    });
    const started = Date.now();
    // The producer would run for a minute: it must be stopped, not waited for.
    const error = await produceBackup(plan(store, spoolDir, true), shell('printf partial; exec sleep 60', events), fakeIo()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreError);
    expect((error as Error).message).toBe('cannot use s3://fake/: bucket fake does not exist');
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(events).toEqual(['producer started', 'check']);
    expect(readdirSync(spoolDir)).toEqual([]);
  });

  it('a producer that fails while the check still hangs is reported at once', async () => {
    const events: string[] = [];
    const spoolDir = tempDir('spool');
    const store = new FakeRemote(events, () => new Promise(() => {}));
    const error = await produceBackup(plan(store, spoolDir, true), shell('echo "pg_dump: error: permission denied" >&2; exit 1', events), fakeIo()).catch(
      (e: unknown) => e,
    );
    expect((error as Error).message).toMatch(/sh exited with code 1.*permission denied/s);
    expect(readdirSync(spoolDir)).toEqual([]);
  });

  it('a signal while the check hangs stops everything with the signal\'s reason', async () => {
    const events: string[] = [];
    const spoolDir = tempDir('spool');
    const store = new FakeRemote(events, () => new Promise(() => {}));
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('interrupted by SIGTERM')), 100);
    const error = await produceBackup(plan(store, spoolDir, true), shell('exec sleep 60', events), fakeIo(controller.signal)).catch((e: unknown) => e);
    expect((error as Error).message).toBe('interrupted by SIGTERM');
    expect(readdirSync(spoolDir)).toEqual([]);
  });
});
