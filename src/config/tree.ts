// Groups located tokens into keepalived's statement tree: a statement is a
// keyword and its arguments up to the end of the line, `{` or `}`; a `{`
// (on the same line or the next) opens a block of child statements.
// Top-level statements are handed on as soon as they are complete, so a large
// file never holds all of its tokens at once.
import type { Diagnostics } from './diagnostics.ts';
import type { SourceLocation } from './model.ts';
import type { LineTokens, Token } from './source.ts';

export interface Statement {
  readonly keyword: Token;
  readonly args: readonly Token[];
  /** The keyword's location. */
  readonly at: SourceLocation;
  /** undefined when the statement has no `{ }` block */
  readonly block: readonly Statement[] | undefined;
}

/** A statement whose block may still be opened and filled. */
class OpenStatement implements Statement {
  block: OpenStatement[] | undefined = undefined;

  constructor(
    readonly keyword: Token,
    readonly args: readonly Token[],
  ) {}

  get at(): SourceLocation {
    return this.keyword.at;
  }
}

export class TreeBuilder {
  private readonly open: { statement: OpenStatement; brace: Token }[] = [];
  /** The last top-level statement: a `{` on a later line may still open its block. */
  private pending: OpenStatement | undefined;
  private children: OpenStatement[] | undefined;

  constructor(
    private readonly diagnostics: Diagnostics,
    private readonly emit: (statement: Statement) => void,
  ) {}

  push(tokens: LineTokens): void {
    let start = 0;
    for (let i = 0; i < tokens.length; i++) {
      const token = tokens[i]!;
      if (token.quoted || (token.text !== '{' && token.text !== '}')) continue;
      const flushed = this.statement(tokens, start, i);
      start = i + 1;
      if (token.text === '{') this.openBlock(flushed, token);
      else this.closeBlock(token);
    }
    this.statement(tokens, start, tokens.length);
  }

  end(): void {
    for (const { statement, brace } of this.open) {
      this.diagnostics.error(brace.at, `block of '${statement.keyword.text}' is never closed (missing '}')`);
    }
    if (this.open.length === 0 && this.pending) this.emit(this.pending);
    this.pending = undefined;
  }

  private statement(tokens: LineTokens, start: number, end: number): OpenStatement | undefined {
    if (end <= start) return undefined;
    const statement = new OpenStatement(tokens[start]!, tokens.slice(start + 1, end));
    if (this.children) this.children.push(statement);
    else {
      if (this.pending) this.emit(this.pending);
      this.pending = statement;
    }
    return statement;
  }

  private openBlock(flushed: OpenStatement | undefined, brace: Token): void {
    const owner = flushed ?? (this.children ? this.children.at(-1) : this.pending);
    if (!owner || owner.block) {
      this.diagnostics.error(brace.at, "'{' without a keyword to open a block for");
      return;
    }
    owner.block = [];
    this.open.push({ statement: owner, brace });
    this.children = owner.block;
  }

  private closeBlock(brace: Token): void {
    // keepalived ignores it and reads on, which can leave a real server outside its virtual
    // server; lvsd refuses such a file rather than apply a structure nobody wrote.
    if (!this.open.pop()) this.diagnostics.error(brace.at, "extra '}': the braces before it do not match");
    this.children = this.open.at(-1)?.statement.block;
  }
}
