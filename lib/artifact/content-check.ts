/**
 * A streaming check of an artifact's content: the raw (uncompressed) bytes a producer wrote — pg_dump's
 * archive or script, an RDB, a redis-logical file. Writers run one on what their producer wrote before
 * anything is published (a producer can exit 0 and still write nothing useful); readers run one over the
 * whole artifact before a restore writes anything to its target. Each format has its own check.
 */

/** What a check learned about the content, for messages and manifests. */
export type ContentFacts = object;

export interface ContentCheck<Facts extends ContentFacts = ContentFacts> {
  /** Names the format in messages, e.g. "pg_dump custom archive". */
  readonly format: string;
  /**
   * Feeds the next bytes. Throws an IntegrityError at the first structural problem, naming it. Once `done`
   * is true, further bytes are ignored.
   */
  push(chunk: Buffer): void;
  /** True once the check has seen everything it needs (a writer's check may need only the head). */
  readonly done: boolean;
  /** The end of the input: throws an IntegrityError when what arrived is incomplete; else the facts. */
  end(): Facts;
}
