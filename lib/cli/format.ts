/** Human-readable quantities for stderr lines and tables. */

/** 1536 → "1.5 KiB". */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** A duration in the units the flags take, at most two of them: 90_000 → "1m30s", 31 days → "31d", 250 → "250ms". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return Number.isNaN(ms) ? '?' : ms < 0 ? '-∞' : '∞';
  const sign = ms < 0 ? '-' : '';
  // Below a second (a --rto of 1ms, a request timeout of 250ms), milliseconds: "0s" would hide the value.
  if (ms !== 0 && Math.abs(ms) < 1000) return `${sign}${Math.round(Math.abs(ms))}ms`;
  let rest = Math.abs(Math.round(ms / 1000));
  if (rest === 0) return `${sign}0s`;
  const parts: string[] = [];
  for (const [unit, seconds] of [['d', 86_400], ['h', 3_600], ['m', 60], ['s', 1]] as const) {
    const n = Math.floor(rest / seconds);
    if (n > 0 || parts.length > 0) parts.push(`${n}${unit}`);
    rest -= n * seconds;
    if (parts.length === 2) break;
  }
  return sign + parts.filter((p) => !p.startsWith('0')).join('');
}

/** A path or value as one word for a POSIX shell the operator pastes a command into. */
export function shellWord(text: string): string {
  return `'${text.replace(/'/g, "'\\''")}'`;
}
