// Groups located tokens into keepalived's statement tree: a statement is a
// keyword and its arguments up to the end of the line, `{` or `}`; a `{`
// (on the same line or the next) opens a block of child statements.
import type { Diagnostics } from './diagnostics.ts';
import type { SourceLocation } from './model.ts';
import type { SourceLine, Token } from './source.ts';

export interface Statement {
  readonly keyword: Token;
  readonly args: readonly Token[];
  readonly at: SourceLocation;
  /** undefined when the statement has no `{ }` block */
  readonly block: readonly Statement[] | undefined;
}

interface OpenStatement extends Statement {
  block: OpenStatement[] | undefined;
}

export function buildTree(lines: readonly SourceLine[], diagnostics: Diagnostics): Statement[] {
  const root: OpenStatement[] = [];
  const open: { statement: OpenStatement; brace: Token }[] = [];
  let container = root;

  for (const line of lines) {
    const tokens = line.tokens;
    let start = 0;
    const flush = (end: number): OpenStatement | undefined => {
      if (end <= start) return undefined;
      const keyword = tokens[start]!;
      const statement: OpenStatement = { keyword, args: tokens.slice(start + 1, end), at: keyword.at, block: undefined };
      container.push(statement);
      return statement;
    };
    for (let i = 0; i < tokens.length; i++) {
      const token = tokens[i]!;
      if (token.quoted || (token.text !== '{' && token.text !== '}')) continue;
      const flushed = flush(i);
      start = i + 1;
      if (token.text === '{') {
        const owner = flushed ?? container.at(-1);
        if (!owner || owner.block) {
          diagnostics.error(token.at, "'{' without a keyword to open a block for");
          continue;
        }
        owner.block = [];
        open.push({ statement: owner, brace: token });
        container = owner.block;
      } else {
        if (!open.pop()) diagnostics.warn(token.at, "extra '}' ignored");
        container = open.at(-1)?.statement.block ?? root;
      }
    }
    flush(tokens.length);
  }
  for (const { statement, brace } of open) {
    diagnostics.error(brace.at, `block of '${statement.keyword.text}' is never closed (missing '}')`);
  }
  return root;
}
