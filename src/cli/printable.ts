/** What `toolgate mcp` prints of text an MCP server wrote (a name, a description, an error): never raw. */

/** Longest detail kept in a message: the rest is cut (a server's error text can be anything). */
const MAX_DETAIL = 300;

/** `text` on one line, with every control, format and separator character escaped, cut at MAX_DETAIL. */
export function oneLine(text: string): string {
  const escaped = printable(text.replace(/\s*\n\s*/g, ' '));
  return escaped.length > MAX_DETAIL ? `${escaped.slice(0, MAX_DETAIL)}…` : escaped;
}

/**
 * `text` safe to print to a terminal: control characters (C0, DEL, C1: escape sequences),
 * format characters (bidi overrides, zero-width ones, which hide text from a reviewer) and
 * line and paragraph separators, lone surrogates written as `\u{…}` escapes; a tab as `\t`.
 */
export function printable(text: string): string {
  return text.replace(/[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/gu, (c) => (c === '\t' ? '\\t' : `\\u{${c.codePointAt(0)!.toString(16)}}`));
}
