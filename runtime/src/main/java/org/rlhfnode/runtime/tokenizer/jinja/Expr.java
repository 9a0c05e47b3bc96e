package org.rlhfnode.runtime.tokenizer.jinja;

import java.util.List;

/** Expression nodes of the template AST; each carries its source line for error messages. */
sealed interface Expr {
  int line();

  /** A literal: String, Long, Double, Boolean or null (Python None). */
  record Const(Object value, int line) implements Expr {}

  record Name(String name, int line) implements Expr {}

  record ListLit(List<Expr> items, int line) implements Expr {}

  record TupleLit(List<Expr> items, int line) implements Expr {}

  record DictLit(List<Expr> keys, List<Expr> values, int line) implements Expr {}

  /** {@code target.name}; jinja looks up attributes first and falls back to dict keys. */
  record Attr(Expr target, String name, int line) implements Expr {}

  /** {@code target[index]}; jinja looks up items first and falls back to attributes. */
  record Item(Expr target, Expr index, int line) implements Expr {}

  /** {@code target[start:stop:step]}; absent parts are null. */
  record Slice(Expr target, Expr start, Expr stop, Expr step, int line) implements Expr {}

  record Call(Expr callee, Args args, int line) implements Expr {}

  /** {@code target | name(args)}; {@code target} is null inside filter blocks and block sets. */
  record Filter(Expr target, String name, Args args, int line) implements Expr {}

  record Test(Expr target, String name, Args args, boolean negated, int line) implements Expr {}

  /** {@code not}, unary {@code -} and unary {@code +}. */
  record Unary(String op, Expr operand, int line) implements Expr {}

  /** Arithmetic, {@code ~}, {@code and}, {@code or}. */
  record Binary(String op, Expr left, Expr right, int line) implements Expr {}

  /** A Python comparison chain such as {@code a < b <= c} or {@code x not in y}. */
  record Compare(Expr first, List<String> ops, List<Expr> operands, int line) implements Expr {}

  /** {@code then if test else orElse}; {@code orElse} is null when omitted (yields undefined). */
  record Cond(Expr test, Expr then, Expr orElse, int line) implements Expr {}

  /**
   * Call arguments: positional expressions, keyword arguments in source order, and the optional
   * {@code *iterable} and {@code **mapping} unpackings (null when absent).
   */
  record Args(List<Expr> positional, List<Keyword> keywords, Expr starArgs, Expr starKwargs) {
    static final Args NONE = new Args(List.of(), List.of(), null, null);

    static Args positional(List<Expr> positional) {
      return new Args(positional, List.of(), null, null);
    }
  }

  record Keyword(String name, Expr value) {}
}
