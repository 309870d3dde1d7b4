import { mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { NotFoundError, StoreError, UsageError } from '../../../lib/cli/errors.js';
import { LocalStore } from '../../../lib/store/local.js';
import { parseLocation } from '../../../lib/store/location.js';

const fresh = () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'store-')), 'backups');
  return new LocalStore(dir, dir);
};

function failingBody(after: string, error: Error): Readable {
  let sent = false;
  return new Readable({
    read() {
      if (!sent) {
        sent = true;
        this.push(after);
      } else this.destroy(error);
    },
  });
}

describe('LocalStore', () => {
  it('creates the directory and publishes complete files with mode 0600', async () => {
    const store = fresh();
    await store.prepareForWrite();
    expect(statSync(store.dir).mode & 0o777).toBe(0o700);
    const result = await store.put('a.dump', Readable.from([Buffer.from('hello '), Buffer.from('world')]));
    expect(result.size).toBe(11);
    expect(readFileSync(join(store.dir, 'a.dump'), 'utf8')).toBe('hello world');
    expect(statSync(join(store.dir, 'a.dump')).mode & 0o777).toBe(0o600);
    expect(readdirSync(store.dir)).toEqual(['a.dump']);
  });

  it('leaves nothing behind when the body fails, and reports the original error', async () => {
    const store = fresh();
    await store.prepareForWrite();
    await expect(store.put('b.dump', failingBody('partial', new Error('pg_dump exited with code 1')))).rejects.toThrow('pg_dump exited with code 1');
    expect(readdirSync(store.dir)).toEqual([]);
  });

  it('leaves nothing behind when aborted', async () => {
    const store = fresh();
    await store.prepareForWrite();
    const controller = new AbortController();
    const body = new Readable({ read() {} });
    body.push('some');
    const put = store.put('c.dump', body, { signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    await expect(put).rejects.toThrow(/abort/i);
    expect(readdirSync(store.dir)).toEqual([]);
  });

  it('never replaces an existing backup', async () => {
    const store = fresh();
    await store.prepareForWrite();
    writeFileSync(join(store.dir, 'd.dump'), 'original');
    await expect(store.put('d.dump', Readable.from(['new']))).rejects.toThrow(/refusing to replace/);
    expect(readFileSync(join(store.dir, 'd.dump'), 'utf8')).toBe('original');
    expect(readdirSync(store.dir)).toEqual(['d.dump']);
  });

  it('reports write failures as StoreErrors naming the location', async () => {
    // /sys refuses new directories even to root.
    const store = new LocalStore('/sys/restorable-test/sub', 'here');
    await expect(store.prepareForWrite()).rejects.toThrow(StoreError);
    await expect(store.prepareForWrite()).rejects.toThrow(/^cannot write to here: operation not permitted \(EPERM\)/);
  });

  it('calls a location that is a file, or lies under one, not a directory (a usage error)', async () => {
    const parent = mkdtempSync(join(tmpdir(), 'store-'));
    writeFileSync(join(parent, 'file'), 'x');
    for (const dir of [join(parent, 'file'), join(parent, 'file', 'sub')]) {
      const store = new LocalStore(dir, 'here', '--to');
      await expect(store.prepareForWrite()).rejects.toThrow(UsageError);
      await expect(store.prepareForWrite()).rejects.toThrow(/^--to: here is not a directory/);
    }
    const reader = new LocalStore(join(parent, 'file'), 'there', '--from');
    await expect((async () => { for await (const _ of reader.list()) void _; })()).rejects.toThrow(/^--from: there is not a directory/);
  });

  it('openWriter: a child writes into the temp file; commit publishes it, discard removes it', async () => {
    const store = fresh();
    await store.prepareForWrite();
    const writer = await store.openWriter('e.dump');
    execFileSync('sh', ['-c', 'printf direct >&3'], { stdio: ['ignore', 'ignore', 'ignore', writer.fd] });
    expect(writer.size()).toBe(6);
    expect(readdirSync(store.dir)).toEqual([basename(writer.path)]);
    expect(await writer.commit()).toEqual({ size: 6 });
    expect(readFileSync(join(store.dir, 'e.dump'), 'utf8')).toBe('direct');
    expect(statSync(join(store.dir, 'e.dump')).mode & 0o777).toBe(0o600);
    expect(readdirSync(store.dir)).toEqual(['e.dump']);

    const dropped = await store.openWriter('f.dump');
    await dropped.discard();
    expect(readdirSync(store.dir)).toEqual(['e.dump']);

    const clash = await store.openWriter('e.dump');
    await expect(clash.commit()).rejects.toThrow(/refusing to replace/);
    expect(readdirSync(store.dir)).toEqual(['e.dump']);
  });

  it('gets, stats, lists and deletes', async () => {
    const store = fresh();
    await store.prepareForWrite();
    await store.put('x.dump', Readable.from(['12345']));
    await store.put('y.dump', Readable.from(['1']));
    writeFileSync(store.lockPath('pg_x'), '{}');
    const chunks: Buffer[] = [];
    for await (const chunk of await store.get('x.dump')) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('12345');
    expect(await store.stat('x.dump')).toMatchObject({ name: 'x.dump', size: 5 });
    expect(await store.stat('nope')).toBeUndefined();
    await expect(store.get('nope')).rejects.toThrow(NotFoundError);
    const names: string[] = [];
    for await (const entry of store.list()) names.push(entry.name);
    expect(names.sort()).toEqual(['x.dump', 'y.dump']);
    expect(await store.deleteMany(['x.dump', 'gone.dump'])).toEqual({ deleted: ['x.dump', 'gone.dump'], failed: [] });
    expect(store.locate('y.dump')).toBe(join(store.dir, 'y.dump'));
  });
});

describe('locations', () => {
  it('parses directories, file:// URLs and s3:// URLs', () => {
    expect(parseLocation('backups', '--to', '/srv')).toEqual({ type: 'local', path: '/srv/backups' });
    expect(parseLocation('/var/backups/app', '--to', '/srv')).toEqual({ type: 'local', path: '/var/backups/app' });
    expect(parseLocation('file:///var/backups', '--to', '/srv')).toEqual({ type: 'local', path: '/var/backups' });
    expect(parseLocation('s3://my-bucket/app/pg/', '--to', '/')).toEqual({ type: 's3', bucket: 'my-bucket', prefix: 'app/pg' });
    expect(parseLocation('s3://my-bucket', '--to', '/')).toEqual({ type: 's3', bucket: 'my-bucket', prefix: '' });
  });

  it('refuses what it cannot store to, naming the flag', () => {
    expect(() => parseLocation('ftp://x/y', '--to', '/')).toThrow(/^--to: unsupported location/);
    expect(() => parseLocation('s3://Bad_Bucket/x', '--from', '/')).toThrow(/^--from: /);
    expect(() => parseLocation('file://host/x', '--to', '/')).toThrow(/^--to: /);
  });
});
