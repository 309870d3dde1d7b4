/**
 * Whether every source is healthy: its newest *verified* backup is younger than its max_age. A backup is
 * verified once, in the background, as list-backups --verify would (sha256 against the manifest and the whole
 * content; an encrypted one without a key by sha256 and age header), and the outcome kept for that exact file.
 * While the newest backup is still being verified the one before it answers; a newest backup found damaged
 * makes the source unhealthy at once, whatever older backups say.
 */
import type { CatalogEntry } from '../../catalog/catalog.js';
import { verifyArtifact } from '../../catalog/verify.js';
import { IntegrityError } from '../../cli/errors.js';
import { formatDuration } from '../../cli/format.js';
import type { Env } from '../../cli/io.js';
import type { AgeIdentities } from '../../crypto/age-file.js';
import type { Store } from '../../store/store.js';
import type { VerdictName } from '../../verdict/decide.js';
import type { CatalogView } from './catalog-view.js';

export interface SourceHealth {
  source: string;
  healthy: boolean;
  verdict: VerdictName;
  /** The backup the verdict is about: the newest verified one (or the damaged one). */
  backup: string | null;
  finished_at: string | null;
  age_seconds: number | null;
  max_age_seconds: number;
  /** How far that backup was proven: its whole content, or (encrypted, no key here) its sha256 and age header. */
  verified: 'content' | 'sha256+header' | null;
  /** A newer backup whose verification has not finished yet. */
  verifying: string | null;
  reasons: string[];
}

type Outcome = { state: 'pending' } | { state: 'ok'; depth: 'content' | 'sha256+header'; at: number } | { state: 'corrupt'; problem: string } | { state: 'error'; problem: string; at: number };

/** How far ahead of this clock a backup's finish may be (clocks of two hosts differ a little). */
export const FUTURE_TOLERANCE_MS = 5 * 60_000;
/** A verification that failed for a reason other than damage (the store was unreachable) is tried again after this. */
const RETRY_AFTER_MS = 60_000;
/** A verified backup is read again after this long (the stored bytes may rot or be replaced); the old outcome stands meanwhile. */
const REVERIFY_AFTER_MS = 6 * 3_600_000;

export interface HealthSource {
  view: CatalogView;
  store: () => Promise<Store>;
  identities: () => Promise<AgeIdentities | undefined>;
  env: Env;
}

export class Health {
  private readonly outcomes = new Map<string, Outcome>();
  private readonly verifying = new Set<string>();
  /** Artifacts this server's own backup jobs wrote, by name: their content was proven as they were written. */
  private readonly written = new Map<string, { size: number; sha256: string }>();

  constructor(
    private readonly sources: ReadonlyMap<string, HealthSource>,
    private readonly signal: AbortSignal,
    private readonly now: () => number = Date.now,
  ) {}

  /** Every source's verdict; starts the verifications it finds missing. */
  async check(): Promise<SourceHealth[]> {
    return Promise.all([...this.sources].map(([name, source]) => this.checkSource(name, source)));
  }

  private async checkSource(name: string, source: HealthSource): Promise<SourceHealth> {
    const maxAgeMs = source.view.source.maxAgeMs;
    const base = { source: name, max_age_seconds: Math.round(maxAgeMs / 1000), verifying: null as string | null, reasons: [] as string[] };
    let entries: CatalogEntry[];
    try {
      entries = await source.view.entries();
    } catch (error) {
      return { ...base, healthy: false, verdict: 'Missing', backup: null, finished_at: null, age_seconds: null, verified: null, reasons: [`cannot list ${source.view.source.location}: ${(error as Error).message}`] };
    }
    for (const entry of entries) {
      if (entry.status === 'orphan' || entry.status === 'unverified') continue;
      const described = { backup: entry.id, finished_at: entry.manifest?.finished_at ?? null };
      if (entry.status === 'corrupt') return { ...base, ...described, healthy: false, verdict: 'ChecksumMismatch', age_seconds: null, verified: null, reasons: [`the newest backup ${entry.id} is corrupt: ${entry.problem}`] };
      const outcome = this.outcomeOf(name, source, entry);
      if (outcome.state === 'corrupt') return { ...base, ...described, healthy: false, verdict: 'ChecksumMismatch', age_seconds: null, verified: null, reasons: [`the newest backup ${entry.id} failed verification: ${outcome.problem}`] };
      if (outcome.state === 'pending' || outcome.state === 'error') {
        base.verifying ??= entry.id;
        if (outcome.state === 'error') base.reasons.push(`${entry.id} could not be verified: ${outcome.problem}`);
        continue;
      }
      const finished = Date.parse(entry.manifest!.finished_at);
      const ageMs = this.now() - finished;
      // A backup that says it finished in the future (a clock ahead, an edited manifest) proves no freshness.
      const future = ageMs < -FUTURE_TOLERANCE_MS;
      const fresh = !future && ageMs <= maxAgeMs;
      if (future) base.reasons.unshift(`the newest verified backup ${entry.id} says it finished at ${entry.manifest!.finished_at}, in the future: a clock is wrong or the manifest was edited`);
      else if (!fresh) base.reasons.unshift(`the newest verified backup ${entry.id} is ${formatDuration(ageMs)} old, more than max_age ${formatDuration(maxAgeMs)}`);
      return { ...base, ...described, healthy: fresh, verdict: fresh ? 'Ok' : 'TooOld', age_seconds: Math.max(0, Math.round(ageMs / 1000)), verified: outcome.depth };
    }
    base.reasons.unshift(base.verifying ? `no verified backup yet: ${base.verifying} is being verified` : `no backup of group ${source.view.source.group} in ${source.view.source.location}`);
    return { ...base, healthy: false, verdict: 'Missing', backup: null, finished_at: null, age_seconds: null, verified: null };
  }

  /**
   * A backup job of this server succeeded: the tool proved the content as it wrote it (the same check a
   * verification makes), so that artifact counts as verified without being read again.
   */
  provenAtWrite(result: Record<string, unknown>): void {
    const artifact = result.artifact as Record<string, unknown> | undefined;
    if (typeof artifact?.name !== 'string' || typeof artifact.size_bytes !== 'number' || typeof artifact.sha256 !== 'string') return;
    this.written.set(artifact.name, { size: artifact.size_bytes, sha256: artifact.sha256 });
  }

  /** What is known of this exact file; a verification is started when nothing is (one at a time per source). */
  private outcomeOf(name: string, source: HealthSource, entry: CatalogEntry): Outcome {
    const key = `${name}\0${entry.artifact}\0${entry.size}\0${entry.modified.getTime()}`;
    let known = this.outcomes.get(key);
    const written = entry.artifact ? this.written.get(entry.artifact) : undefined;
    if (!known && written && written.size === entry.size && written.sha256 === entry.manifest?.artifact.sha256) {
      // Once, for the file as it was first listed: a later change (another mtime) is verified like any other.
      this.written.delete(entry.artifact!);
      known = { state: 'ok', depth: 'content', at: this.now() };
      this.outcomes.set(key, known);
    }
    const due = known === undefined || (known.state === 'error' && this.now() - known.at > RETRY_AFTER_MS) || (known.state === 'ok' && this.now() - known.at > REVERIFY_AFTER_MS);
    if (!due || this.verifying.has(name)) return known ?? { state: 'pending' };
    this.verifying.add(name);
    // A backup verified before keeps its outcome while it is read again.
    if (known?.state !== 'ok') this.outcomes.set(key, { state: 'pending' });
    void this.verify(source, entry)
      .then((outcome) => this.outcomes.set(key, outcome))
      .finally(() => this.verifying.delete(name));
    return known?.state === 'ok' ? known : { state: 'pending' };
  }

  private async verify(source: HealthSource, entry: CatalogEntry): Promise<Outcome> {
    try {
      const recipients = entry.manifest?.encryption?.recipients;
      const identities = recipients ? await source.identities() : undefined;
      const keys = identities && recipients && identities.recipients.some((r) => recipients.includes(r)) ? identities : undefined;
      const verified = await verifyArtifact(await source.store(), entry, { env: source.env, signal: this.signal, identities: keys });
      await verified.release();
      return { state: 'ok', depth: verified.decrypted === false ? 'sha256+header' : 'content', at: this.now() };
    } catch (error) {
      if (error instanceof IntegrityError) return { state: 'corrupt', problem: error.message };
      return { state: 'error', problem: (error as Error).message, at: this.now() };
    }
  }
}
