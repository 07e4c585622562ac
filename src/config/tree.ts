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

interface OpenStatement {
  keyword: Token;
  args: Token[];
  block: OpenStatement[] | undefined;
  opening: Token | undefined;
}

function freeze(statements: readonly OpenStatement[]): Statement[] {
  return statements.map((s) => ({
    keyword: s.keyword,
    args: s.args,
    at: s.keyword.at,
    block: s.block && freeze(s.block),
  }));
}

export function buildTree(lines: readonly SourceLine[], diagnostics: Diagnostics): Statement[] {
  const root: OpenStatement[] = [];
  const open: OpenStatement[] = [];
  const container = (): OpenStatement[] => open.at(-1)?.block ?? root;

  for (const line of lines) {
    let current: Token[] = [];
    const flush = (): OpenStatement | undefined => {
      const [keyword, ...args] = current;
      current = [];
      if (!keyword) return undefined;
      const statement: OpenStatement = { keyword, args, block: undefined, opening: undefined };
      container().push(statement);
      return statement;
    };
    for (const token of line.tokens) {
      if (token.quoted || (token.text !== '{' && token.text !== '}')) {
        current.push(token);
      } else if (token.text === '{') {
        const owner = flush() ?? container().at(-1);
        if (!owner || owner.block) {
          diagnostics.error(token.at, "'{' without a keyword to open a block for");
          continue;
        }
        owner.block = [];
        owner.opening = token;
        open.push(owner);
      } else {
        flush();
        if (!open.pop()) diagnostics.warn(token.at, "extra '}' ignored");
      }
    }
    flush();
  }
  for (const unclosed of open) {
    diagnostics.error(unclosed.opening!.at, `block of '${unclosed.keyword.text}' is never closed (missing '}')`);
  }
  return freeze(root);
}
