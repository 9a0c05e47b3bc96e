package org.rlhfnode.runtime.tokenizer.jinja;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;

/**
 * Recursive-descent parser for jinja2 expressions, mirroring jinja2's own precedence (which is not
 * Python's: filters bind tighter than unary minus's operand, {@code **} is left-associative and
 * {@code ~} binds tighter than {@code +}). Unknown filters and tests are rejected here, at compile time.
 */
final class ExprParser {
  private static final Set<String> COMPARE_OPS = Set.of("==", "!=", "<", "<=", ">", ">=");
  private static final Set<String> TEST_ARG_STOP = Set.of("else", "or", "and");

  private final TokenStream ts;

  ExprParser(TokenStream ts) {
    this.ts = ts;
  }

  /** jinja2's parse_tuple: one expression, or a tuple when commas separate several. */
  Expr parseTuple(boolean withCondexpr, Set<String> extraEnd, boolean explicitParens) {
    int line = ts.current().line();
    List<Expr> items = new ArrayList<>();
    boolean isTuple = false;
    while (true) {
      if (!items.isEmpty()) {
        ts.expectOp(",");
      }
      if (isTupleEnd(extraEnd)) {
        break;
      }
      items.add(parseExpression(withCondexpr));
      if (!ts.current().isOp(",")) {
        break;
      }
      isTuple = true;
    }
    if (!isTuple) {
      if (!items.isEmpty()) {
        return items.get(0);
      }
      if (!explicitParens) {
        throw ts.fail("expected an expression, got " + ts.current().describe());
      }
    }
    return new Expr.TupleLit(List.copyOf(items), line);
  }

  private boolean isTupleEnd(Set<String> extraEnd) {
    Token t = ts.current();
    if (t.type() == Token.Type.VAR_END || t.type() == Token.Type.BLOCK_END || t.isOp(")")) {
      return true;
    }
    return t.type() == Token.Type.NAME && extraEnd.contains(t.text());
  }

  Expr parseExpression(boolean withCondexpr) {
    return withCondexpr ? parseCondexpr() : parseOr();
  }

  private Expr parseCondexpr() {
    Expr expr = parseOr();
    while (ts.current().isName("if")) {
      int line = ts.next().line();
      Expr test = parseOr();
      Expr orElse = ts.skipName("else") ? parseCondexpr() : null;
      expr = new Expr.Cond(test, expr, orElse, line);
    }
    return expr;
  }

  private Expr parseOr() {
    return parseBinary(Set.of("or"), this::parseAnd);
  }

  private Expr parseAnd() {
    return parseBinary(Set.of("and"), this::parseNot);
  }

  private Expr parseNot() {
    if (ts.current().isName("not")) {
      int line = ts.next().line();
      return new Expr.Unary("not", parseNot(), line);
    }
    return parseCompare();
  }

  private Expr parseCompare() {
    int line = ts.current().line();
    Expr first = parseMath1();
    List<String> ops = new ArrayList<>();
    List<Expr> operands = new ArrayList<>();
    while (true) {
      Token t = ts.current();
      if (t.type() == Token.Type.OPERATOR && COMPARE_OPS.contains(t.text())) {
        ops.add(ts.next().text());
      } else if (t.isName("in")) {
        ts.next();
        ops.add("in");
      } else if (t.isName("not") && ts.look().isName("in")) {
        ts.next();
        ts.next();
        ops.add("not in");
      } else {
        break;
      }
      operands.add(parseMath1());
    }
    return ops.isEmpty() ? first : new Expr.Compare(first, List.copyOf(ops), List.copyOf(operands), line);
  }

  private Expr parseMath1() {
    return parseBinary(Set.of("+", "-"), this::parseConcat);
  }

  private Expr parseConcat() {
    return parseBinary(Set.of("~"), this::parseMath2);
  }

  private Expr parseMath2() {
    return parseBinary(Set.of("*", "/", "//", "%"), this::parsePow);
  }

  private Expr parsePow() {
    return parseBinary(Set.of("**"), () -> parseUnary(true));
  }

  /** A left-associative chain of operators (keywords for and/or) over {@code operand}. */
  private Expr parseBinary(Set<String> ops, Supplier<Expr> operand) {
    Expr left = operand.get();
    while (true) {
      Token t = ts.current();
      boolean matches = t.type() == Token.Type.OPERATOR || t.type() == Token.Type.NAME;
      if (!matches || !ops.contains(t.text())) {
        return left;
      }
      ts.next();
      left = new Expr.Binary(t.text(), left, operand.get(), t.line());
    }
  }

  private Expr parseUnary(boolean withFilter) {
    Token t = ts.current();
    Expr node;
    if (t.isOp("-") || t.isOp("+")) {
      ts.next();
      node = new Expr.Unary(t.text(), parseUnary(false), t.line());
    } else {
      node = parsePrimary();
    }
    node = parsePostfix(node);
    return withFilter ? parseFilterExpr(node) : node;
  }

  private Expr parsePrimary() {
    Token t = ts.current();
    switch (t.type()) {
      case NAME:
        ts.next();
        return nameOrConstant(t);
      case STRING:
        StringBuilder sb = new StringBuilder();
        while (ts.current().type() == Token.Type.STRING) {
          sb.append((String) ts.next().value());
        }
        return new Expr.Const(sb.toString(), t.line());
      case INTEGER:
      case FLOAT:
        ts.next();
        return new Expr.Const(t.value(), t.line());
      default:
        break;
    }
    if (ts.skipOp("(")) {
      Expr inner = parseTuple(true, Set.of(), true);
      ts.expectOp(")");
      return inner;
    }
    if (t.isOp("[")) {
      return parseList();
    }
    if (t.isOp("{")) {
      return parseDict();
    }
    throw ts.fail("unexpected " + t.describe());
  }

  private static Expr nameOrConstant(Token t) {
    String n = t.text();
    if (n.equals("true") || n.equals("True") || n.equals("false") || n.equals("False")) {
      return new Expr.Const(n.charAt(0) == 't' || n.charAt(0) == 'T', t.line());
    }
    return n.equals("none") || n.equals("None") ? new Expr.Const(null, t.line()) : new Expr.Name(n, t.line());
  }

  private Expr parseList() {
    int line = ts.current().line();
    List<Expr> items = new ArrayList<>();
    parseCommaList("[", "]", () -> items.add(parseExpression(true)));
    return new Expr.ListLit(List.copyOf(items), line);
  }

  private Expr parseDict() {
    int line = ts.current().line();
    List<Expr> keys = new ArrayList<>();
    List<Expr> values = new ArrayList<>();
    parseCommaList("{", "}", () -> {
      keys.add(parseExpression(true));
      ts.expectOp(":");
      values.add(parseExpression(true));
    });
    return new Expr.DictLit(List.copyOf(keys), List.copyOf(values), line);
  }

  /** Parses {@code open item, item, ... close}, allowing a trailing comma. */
  private void parseCommaList(String open, String close, Runnable item) {
    ts.expectOp(open);
    boolean first = true;
    while (!ts.current().isOp(close)) {
      if (!first) {
        ts.expectOp(",");
        if (ts.current().isOp(close)) {
          break;
        }
      }
      item.run();
      first = false;
    }
    ts.expectOp(close);
  }

  private Expr parsePostfix(Expr node) {
    Expr current = node;
    while (true) {
      Token t = ts.current();
      if (t.isOp(".") || t.isOp("[")) {
        current = parseSubscript(current);
      } else if (t.isOp("(")) {
        current = new Expr.Call(current, parseCallArgs(), t.line());
      } else {
        return current;
      }
    }
  }

  private Expr parseFilterExpr(Expr node) {
    Expr current = node;
    while (true) {
      Token t = ts.current();
      if (t.isOp("|")) {
        current = parseFilter(current, false);
      } else if (t.isName("is")) {
        current = parseTest(current);
      } else if (t.isOp("(")) {
        current = new Expr.Call(current, parseCallArgs(), t.line());
      } else {
        return current;
      }
    }
  }

  private Expr parseSubscript(Expr node) {
    Token t = ts.next();
    if (t.isOp(".")) {
      Token attr = ts.next();
      if (attr.type() == Token.Type.NAME) {
        return new Expr.Attr(node, attr.text(), attr.line());
      }
      if (attr.type() != Token.Type.INTEGER) {
        throw new TemplateException(attr.line(), "expected name or number after '.'");
      }
      return new Expr.Item(node, new Expr.Const(attr.value(), attr.line()), attr.line());
    }
    List<Expr> args = new ArrayList<>();
    while (!ts.current().isOp("]")) {
      if (!args.isEmpty()) {
        ts.expectOp(",");
      }
      args.add(parseSubscribed(node));
    }
    ts.expectOp("]");
    if (args.size() == 1) {
      Expr only = args.get(0);
      return only instanceof Expr.Slice ? only : new Expr.Item(node, only, t.line());
    }
    return new Expr.Item(node, new Expr.TupleLit(List.copyOf(args), t.line()), t.line());
  }

  /** One subscript: an index, or a slice whose parts may each be omitted. */
  private Expr parseSubscribed(Expr target) {
    int line = ts.current().line();
    Expr start = null;
    if (!ts.current().isOp(":")) {
      start = parseExpression(true);
      if (!ts.current().isOp(":")) {
        return start;
      }
    }
    ts.expectOp(":");
    Expr stop = sliceEnd() ? null : parseExpression(true);
    Expr step = null;
    if (ts.skipOp(":") && !sliceEnd()) {
      step = parseExpression(true);
    }
    return new Expr.Slice(target, start, stop, step, line);
  }

  private boolean sliceEnd() {
    Token t = ts.current();
    return t.isOp("]") || t.isOp(",") || t.isOp(":");
  }

  Expr.Args parseCallArgs() {
    List<Expr> positional = new ArrayList<>();
    List<Expr.Keyword> keywords = new ArrayList<>();
    Expr[] star = new Expr[2];
    parseCommaList("(", ")", () -> {
      if (star[1] != null) {
        throw ts.fail("invalid syntax for function call expression");
      }
      if (ts.skipOp("*")) {
        star[0] = parseExpression(true);
      } else if (ts.skipOp("**")) {
        star[1] = parseExpression(true);
      } else if (ts.current().type() == Token.Type.NAME && ts.look().isOp("=")) {
        String key = ts.next().text();
        ts.next();
        keywords.add(new Expr.Keyword(key, parseExpression(true)));
      } else if (!keywords.isEmpty() || star[0] != null) {
        throw ts.fail("positional argument follows keyword argument or *args");
      } else {
        positional.add(parseExpression(true));
      }
    });
    return new Expr.Args(List.copyOf(positional), List.copyOf(keywords), star[0], star[1]);
  }

  /** Parses {@code | name(args)} chains; with {@code startInline} the first pipe is implicit. */
  Expr.Filter parseFilter(Expr node, boolean startInline) {
    Expr current = node;
    boolean inline = startInline;
    while (ts.current().isOp("|") || inline) {
      if (!inline) {
        ts.next();
      }
      inline = false;
      Token nameToken = ts.expectName();
      StringBuilder name = new StringBuilder(nameToken.text());
      while (ts.skipOp(".")) {
        name.append('.').append(ts.expectName().text());
      }
      if (!Filters.exists(name.toString())) {
        throw new TemplateException(nameToken.line(), "unsupported filter '" + name + "'");
      }
      Expr.Args args = ts.current().isOp("(") ? parseCallArgs() : Expr.Args.NONE;
      current = new Expr.Filter(current, name.toString(), args, nameToken.line());
    }
    return (Expr.Filter) current;
  }

  private Expr parseTest(Expr node) {
    int line = ts.expectName("is").line();
    boolean negated = ts.skipName("not");
    Token nameToken = ts.expectName();
    StringBuilder name = new StringBuilder(nameToken.text());
    while (ts.skipOp(".")) {
      name.append('.').append(ts.expectName().text());
    }
    if (!Tests.exists(name.toString())) {
      throw new TemplateException(nameToken.line(), "unsupported test '" + name + "'");
    }
    Expr.Args args = Expr.Args.NONE;
    Token t = ts.current();
    if (t.isOp("(")) {
      args = parseCallArgs();
    } else if (startsTestArgument(t)) {
      if (t.isName("is")) {
        throw ts.fail("you cannot chain multiple tests with 'is'");
      }
      Expr arg = parsePostfix(parsePrimary());
      args = Expr.Args.positional(List.of(arg));
    }
    return new Expr.Test(node, name.toString(), args, negated, line);
  }

  private static boolean startsTestArgument(Token t) {
    Token.Type type = t.type();
    if (type == Token.Type.NAME) {
      return !TEST_ARG_STOP.contains(t.text());
    }
    boolean literal = type == Token.Type.STRING || type == Token.Type.INTEGER || type == Token.Type.FLOAT;
    return literal || t.isOp("(") || t.isOp("[") || t.isOp("{");
  }
}
