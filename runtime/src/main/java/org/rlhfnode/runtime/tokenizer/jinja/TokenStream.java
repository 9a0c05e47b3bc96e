package org.rlhfnode.runtime.tokenizer.jinja;

import java.util.List;

/** A cursor over the lexer's tokens with the expect/skip helpers the parsers share. */
final class TokenStream {
  private final List<Token> tokens;
  private int index;

  TokenStream(List<Token> tokens) {
    this.tokens = tokens;
  }

  Token current() {
    return tokens.get(index);
  }

  Token look() {
    return tokens.get(Math.min(index + 1, tokens.size() - 1));
  }

  Token next() {
    Token t = tokens.get(index);
    if (index < tokens.size() - 1) {
      index++;
    }
    return t;
  }

  boolean atEof() {
    return current().type() == Token.Type.EOF;
  }

  boolean skipName(String name) {
    if (current().isName(name)) {
      next();
      return true;
    }
    return false;
  }

  boolean skipOp(String op) {
    if (current().isOp(op)) {
      next();
      return true;
    }
    return false;
  }

  Token expectOp(String op) {
    if (!current().isOp(op)) {
      throw fail("expected '" + op + "', got " + current().describe());
    }
    return next();
  }

  Token expectName() {
    if (current().type() != Token.Type.NAME) {
      throw fail("expected a name, got " + current().describe());
    }
    return next();
  }

  Token expectName(String keyword) {
    if (!current().isName(keyword)) {
      throw fail("expected '" + keyword + "', got " + current().describe());
    }
    return next();
  }

  Token expect(Token.Type type, String what) {
    if (current().type() != type) {
      throw fail("expected " + what + ", got " + current().describe());
    }
    return next();
  }

  TemplateException fail(String message) {
    return new TemplateException(current().line(), message);
  }
}
