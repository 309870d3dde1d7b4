/** An SQL identifier, double-quoted: safe for any schema, table or database name. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
