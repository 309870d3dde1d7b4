/**
 * Natural version order, for schema versions and server versions alike. The text is split into runs of digits
 * and runs of anything else; digit runs compare as whole numbers (of any length, leading zeros ignored), other
 * runs as text, a number before text; the first difference decides, and a version that is a prefix of another
 * is the older one. So "9" < "10", "1.9.2" < "1.10", "1.2" < "1.2.1", "v2" < "v10", migration ids and
 * timestamps ("20240101120000", "2026-01-05T10:00:00Z") order as numbers and times do.
 */
export function compareVersions(a: string, b: string): number {
  const left = tokens(a.trim());
  const right = tokens(b.trim());
  for (let i = 0; i < Math.min(left.length, right.length); i += 1) {
    const x = left[i]!;
    const y = right[i]!;
    const xNum = /^\d/.test(x);
    const yNum = /^\d/.test(y);
    let order: number;
    if (xNum && yNum) order = compareDigits(x, y);
    else if (xNum !== yNum) order = xNum ? -1 : 1; // a number sorts before text ("1.0" < "1.0-beta" is not claimed)
    else order = x < y ? -1 : x > y ? 1 : 0;
    if (order !== 0) return order;
  }
  return Math.sign(left.length - right.length);
}

function tokens(text: string): string[] {
  return text.match(/\d+|\D+/g) ?? [];
}

/** Numeric order of digit strings of any length. */
function compareDigits(x: string, y: string): number {
  const a = x.replace(/^0+(?=\d)/, '');
  const b = y.replace(/^0+(?=\d)/, '');
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}
