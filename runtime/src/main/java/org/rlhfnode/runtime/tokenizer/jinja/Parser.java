package org.rlhfnode.runtime.tokenizer.jinja;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Parses template statements into {@link Node}s. Tags that jinja2 knows but chat templates do not
 * need (include, extends, block, import, ...) are rejected with the tag name and line, so a template
 * never renders silently wrong.
 */
final class Parser {
  private static final Set<String> NONE = Set.of();

  private final TokenStream ts;
  private final ExprParser exprs;
  /** Loops enclosing the current position; macros and call blocks start a new function body. */
  private int loopDepth;

  private Parser(List<Token> tokens) {
    this.ts = new TokenStream(tokens);
    this.exprs = new ExprParser(ts);
  }

  static List<Node> parse(String source) {
    Parser parser = new Parser(Lexer.tokenize(source));
    List<Node> body = parser.subparse(NONE, null);
    if (!parser.ts.atEof()) {
      throw parser.ts.fail("unexpected " + parser.ts.current().describe());
    }
    return body;
  }

  /**
   * Parses nodes until a block tag named in {@code endTags}; the stream is then left on that tag's
   * name. {@code opener} names the enclosing tag for end-of-template errors.
   */
  private List<Node> subparse(Set<String> endTags, Token opener) {
    List<Node> body = new ArrayList<>();
    while (!ts.atEof()) {
      Token t = ts.next();
      if (t.type() == Token.Type.TEXT) {
        body.add(new Node.Text(t.text(), t.line()));
      } else if (t.type() == Token.Type.VAR_BEGIN) {
        Expr expr = exprs.parseTuple(true, NONE, false);
        ts.expect(Token.Type.VAR_END, "'}}'");
        body.add(new Node.Output(expr, t.line()));
      } else if (t.type() == Token.Type.BLOCK_BEGIN) {
        if (ts.current().type() == Token.Type.NAME && endTags.contains(ts.current().text())) {
          return body;
        }
        body.add(parseStatement(endTags));
        ts.expect(Token.Type.BLOCK_END, "'%}'");
      } else {
        throw new TemplateException(t.line(), "unexpected " + t.describe());
      }
    }
    if (opener != null) {
      throw ts.fail("unexpected end of template, expected " + describe(endTags) + " to close '"
          + opener.text() + "' from line " + opener.line());
    }
    return body;
  }

  private static String describe(Set<String> tags) {
    List<String> quoted = new ArrayList<>();
    tags.stream().sorted().forEach(tag -> quoted.add("'" + tag + "'"));
    return String.join(" or ", quoted);
  }

  private Node parseStatement(Set<String> endTags) {
    Token tag = ts.current();
    if (tag.type() != Token.Type.NAME) {
      throw ts.fail("tag name expected, got " + tag.describe());
    }
    switch (tag.text()) {
      case "for":
        return parseFor();
      case "if":
        return parseIf();
      case "set":
        return parseSet();
      case "macro":
        return parseMacro();
      case "call":
        return parseCallBlock();
      case "filter":
        return parseFilterBlock();
      case "with":
        return parseWith();
      case "generation":
        return parseGeneration();
      case "break":
      case "continue":
        return parseLoopControl();
      default:
        throw unknownTag(tag, endTags);
    }
  }

  private TemplateException unknownTag(Token tag, Set<String> endTags) {
    String name = tag.text();
    if (name.startsWith("end") || name.equals("else") || name.equals("elif")) {
      String expected = endTags.isEmpty() ? "" : ", expected " + describe(endTags);
      return new TemplateException(tag.line(), "unexpected '" + name + "'" + expected);
    }
    return new TemplateException(tag.line(), "unsupported tag '" + name + "'");
  }

  /** Expects the end of the opening tag, then parses the body up to one of {@code endTags}. */
  private List<Node> parseBody(Set<String> endTags, Token opener, boolean dropEndTag) {
    ts.skipOp(":");
    ts.expect(Token.Type.BLOCK_END, "'%}'");
    List<Node> body = subparse(endTags, opener);
    if (dropEndTag) {
      ts.next();
    }
    return body;
  }

  private Node parseFor() {
    Token opener = ts.expectName("for");
    List<String> targets = new ArrayList<>();
    boolean unpack = parseNameTargets(targets, Set.of("in"));
    ts.expectName("in");
    Expr iter = exprs.parseTuple(false, Set.of("recursive"), false);
    Expr filter = ts.skipName("if") ? exprs.parseExpression(true) : null;
    if (ts.current().isName("recursive")) {
      throw ts.fail("unsupported loop modifier 'recursive'");
    }
    loopDepth++;
    List<Node> body = parseBody(Set.of("endfor", "else"), opener, false);
    loopDepth--;
    List<Node> orElse = List.of();
    if (ts.next().text().equals("else")) {
      orElse = parseBody(Set.of("endfor"), opener, true);
    }
    return new Node.For(List.copyOf(targets), unpack, iter, filter, body, orElse, opener.line());
  }

  /** Parses {@code a}, {@code a, b} or {@code (a, b)}; returns whether the target is a tuple. */
  private boolean parseNameTargets(List<String> names, Set<String> endNames) {
    boolean parens = ts.skipOp("(");
    boolean tuple = parens;
    while (true) {
      names.add(ts.expectName().text());
      if (!ts.skipOp(",")) {
        break;
      }
      tuple = true;
      Token t = ts.current();
      if (t.isOp(")") || (t.type() == Token.Type.NAME && endNames.contains(t.text()))) {
        break;
      }
    }
    if (parens) {
      ts.expectOp(")");
    }
    return tuple;
  }

  private Node parseIf() {
    Token opener = ts.expectName("if");
    List<Node.Branch> branches = new ArrayList<>();
    List<Node> orElse = List.of();
    while (true) {
      Expr test = exprs.parseTuple(false, NONE, false);
      branches.add(new Node.Branch(test, parseBody(Set.of("elif", "else", "endif"), opener, false)));
      String next = ts.next().text();
      if (next.equals("else")) {
        orElse = parseBody(Set.of("endif"), opener, true);
      }
      if (!next.equals("elif")) {
        return new Node.If(List.copyOf(branches), orElse, opener.line());
      }
    }
  }

  private Node parseSet() {
    Token opener = ts.expectName("set");
    Node.Target target;
    if (ts.current().type() == Token.Type.NAME && ts.look().isOp(".")) {
      String name = ts.next().text();
      ts.next();
      target = new Node.AttrTarget(name, ts.expectName().text());
    } else {
      List<String> names = new ArrayList<>();
      boolean tuple = parseNameTargets(names, NONE);
      target = tuple ? new Node.TupleTarget(List.copyOf(names)) : new Node.NameTarget(names.get(0));
    }
    if (ts.skipOp("=")) {
      return new Node.Set(target, exprs.parseTuple(true, NONE, false), opener.line());
    }
    if (target instanceof Node.TupleTarget) {
      throw ts.fail("a block set needs a single name");
    }
    List<Expr.Filter> filters = ts.current().isOp("|") ? flatten(exprs.parseFilter(null, false)) : List.of();
    return new Node.SetBlock(target, filters, parseBody(Set.of("endset"), opener, true), opener.line());
  }

  /** Turns a nested filter chain (innermost first) into the order the filters apply. */
  private static List<Expr.Filter> flatten(Expr.Filter chain) {
    List<Expr.Filter> out = new ArrayList<>();
    Expr e = chain;
    while (e instanceof Expr.Filter f) {
      out.add(0, new Expr.Filter(null, f.name(), f.args(), f.line()));
      e = f.target();
    }
    return List.copyOf(out);
  }

  private Node parseMacro() {
    Token opener = ts.expectName("macro");
    String name = ts.expectName().text();
    List<Node.Param> params = parseSignature();
    int savedDepth = loopDepth;
    loopDepth = 0;
    List<Node> body = parseBody(Set.of("endmacro"), opener, true);
    loopDepth = savedDepth;
    return new Node.Macro(name, params, body, opener.line());
  }

  private List<Node.Param> parseSignature() {
    List<Node.Param> params = new ArrayList<>();
    ts.expectOp("(");
    while (!ts.current().isOp(")")) {
      if (!params.isEmpty()) {
        ts.expectOp(",");
        if (ts.current().isOp(")")) {
          break;
        }
      }
      String name = ts.expectName().text();
      Expr defaultValue = null;
      if (ts.skipOp("=")) {
        defaultValue = exprs.parseExpression(true);
      } else if (!params.isEmpty() && params.get(params.size() - 1).defaultValue() != null) {
        throw ts.fail("non-default argument follows default argument");
      }
      params.add(new Node.Param(name, defaultValue));
    }
    ts.expectOp(")");
    return List.copyOf(params);
  }

  private Node parseCallBlock() {
    Token opener = ts.expectName("call");
    List<Node.Param> callerParams = ts.current().isOp("(") ? parseSignature() : List.of();
    Expr call = exprs.parseExpression(true);
    if (!(call instanceof Expr.Call c)) {
      throw new TemplateException(opener.line(), "expected a macro call after 'call'");
    }
    int savedDepth = loopDepth;
    loopDepth = 0;
    List<Node> body = parseBody(Set.of("endcall"), opener, true);
    loopDepth = savedDepth;
    return new Node.CallBlock(c, callerParams, body, opener.line());
  }

  private Node parseFilterBlock() {
    Token opener = ts.expectName("filter");
    List<Expr.Filter> filters = flatten(exprs.parseFilter(null, true));
    return new Node.FilterBlock(filters, parseBody(Set.of("endfilter"), opener, true), opener.line());
  }

  private Node parseWith() {
    Token opener = ts.expectName("with");
    List<String> names = new ArrayList<>();
    List<Expr> values = new ArrayList<>();
    while (ts.current().type() != Token.Type.BLOCK_END) {
      if (!names.isEmpty()) {
        ts.expectOp(",");
      }
      names.add(ts.expectName().text());
      ts.expectOp("=");
      values.add(exprs.parseExpression(true));
    }
    List<Node> body = parseBody(Set.of("endwith"), opener, true);
    return new Node.Scoped(List.copyOf(names), List.copyOf(values), body, opener.line());
  }

  /** HF's AssistantTracker tag: renders its body in a scope of its own when masks are not tracked. */
  private Node parseGeneration() {
    Token opener = ts.expectName("generation");
    List<Node> body = parseBody(Set.of("endgeneration"), opener, true);
    return new Node.Scoped(List.of(), List.of(), body, opener.line());
  }

  private Node parseLoopControl() {
    Token tag = ts.next();
    if (loopDepth == 0) {
      throw new TemplateException(tag.line(), "'" + tag.text() + "' outside of a loop");
    }
    return tag.text().equals("break") ? new Node.Break(tag.line()) : new Node.Continue(tag.line());
  }
}
