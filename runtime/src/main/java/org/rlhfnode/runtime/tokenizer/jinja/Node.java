package org.rlhfnode.runtime.tokenizer.jinja;

import java.util.List;

/** Statement nodes of the template AST. */
sealed interface Node {
  int line();

  record Text(String text, int line) implements Node {}

  record Output(Expr expr, int line) implements Node {}

  record If(List<Branch> branches, List<Node> orElse, int line) implements Node {}

  record Branch(Expr test, List<Node> body) {}

  /** {@code for targets in iter [if filter]}; {@code filter} may be null. */
  record For(List<String> targets, boolean unpack, Expr iter, Expr filter, List<Node> body,
      List<Node> orElse, int line) implements Node {}

  record Set(Target target, Expr value, int line) implements Node {}

  /** {@code {% set name | filters %}body{% endset %}}; filters may be empty. */
  record SetBlock(Target target, List<Expr.Filter> filters, List<Node> body, int line) implements Node {}

  record Macro(String name, List<Param> params, List<Node> body, int line) implements Node {}

  record Param(String name, Expr defaultValue) {}

  /** {@code {% call(params) macro(args) %}body{% endcall %}}: the body becomes {@code caller()}. */
  record CallBlock(Expr.Call call, List<Param> callerParams, List<Node> body, int line) implements Node {}

  record FilterBlock(List<Expr.Filter> filters, List<Node> body, int line) implements Node {}

  /** {@code with} and HF's {@code generation} tag: a body rendered in its own variable scope. */
  record Scoped(List<String> names, List<Expr> values, List<Node> body, int line) implements Node {}

  record Break(int line) implements Node {}

  record Continue(int line) implements Node {}

  /** Assignment targets of {@code set}. */
  sealed interface Target {}

  record NameTarget(String name) implements Target {}

  record TupleTarget(List<String> names) implements Target {}

  /** {@code ns.attr}, allowed only on namespace objects. */
  record AttrTarget(String name, String attr) implements Target {}
}
