import { Transform, type TransformCallback } from 'node:stream';

/**
 * A pass-through stream that holds back its end until `check()` resolves. Stores publish an artifact only
 * when its body ends cleanly, so putting this in front of a store means: the artifact is committed only if
 * every producer stage (pg_dump, the compressor…) also succeeded. If `check()` rejects, the stream errors and
 * the store discards the partial upload.
 */
export class CommitGate extends Transform {
  constructor(private readonly check: () => Promise<void>) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    this.check().then(
      () => callback(),
      (error: unknown) => callback(error instanceof Error ? error : new Error(String(error))),
    );
  }
}
