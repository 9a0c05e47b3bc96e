package org.rlhfnode.runtime.tokenizer.jinja;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * Splits template source into tokens the way jinja2's lexer does with HuggingFace's settings
 * ({@code trim_blocks}, {@code lstrip_blocks}, no trailing newline kept). Whitespace control is
 * resolved here, so the parser only ever sees final literal text.
 */
final class Lexer {
  private static final String[] OPERATORS = {
    "//", "**", "==", "!=", ">=", "<=", "+", "-", "/", "*", "%", "~", "[", "]", "(", ")", "{", "}",
    ">", "<", "=", ".", ":", "|", ",", ";"
  };

  private final String src;
  private final List<Token> tokens = new ArrayList<>();
  private final Deque<Character> balance = new ArrayDeque<>();
  private int pos;
  /** Whether the last consumed markup ended with a newline; jinja's lstrip rule depends on it. */
  private boolean lineStarting = true;
  /** Tokens are produced left to right, so line numbers come from a cursor that only moves forward. */
  private int lineCursorPos;
  private int lineCursorLine = 1;

  private Lexer(String src) {
    this.src = src;
  }

  static List<Token> tokenize(String source) {
    Lexer lexer = new Lexer(normalize(source));
    lexer.run();
    return lexer.tokens;
  }

  /** jinja2 treats \r\n and \r as \n and drops one trailing newline (keep_trailing_newline=False). */
  private static String normalize(String source) {
    String s = source.replace("\r\n", "\n").replace('\r', '\n');
    return s.endsWith("\n") ? s.substring(0, s.length() - 1) : s;
  }

  private void run() {
    while (pos < src.length()) {
      int open = nextOpener(pos);
      if (open < 0) {
        addText(src.substring(pos), pos);
        pos = src.length();
      } else {
        lexMarkup(open);
      }
    }
    tokens.add(new Token(Token.Type.EOF, "", null, lineAt(src.length())));
  }

  private int nextOpener(int from) {
    int i = src.indexOf('{', from);
    while (i >= 0 && i + 1 < src.length()) {
      char c = src.charAt(i + 1);
      if (c == '{' || c == '%' || c == '#') {
        return i;
      }
      i = src.indexOf('{', i + 1);
    }
    return -1;
  }

  private void lexMarkup(int open) {
    char kind = src.charAt(open + 1);
    char sign = signAt(open + 2);
    int rawEnd = kind == '%' ? matchRawBegin(open) : -1;
    addText(stripBefore(src.substring(pos, open), sign, kind != '{'), pos);
    if (rawEnd >= 0) {
      lineStarting = src.charAt(rawEnd - 1) == '\n';
      lexRaw(rawEnd, lineAt(open));
      return;
    }
    int bodyStart = open + 2 + (sign != 0 ? 1 : 0);
    if (kind == '#') {
      lexComment(bodyStart, lineAt(open));
      return;
    }
    boolean variable = kind == '{';
    Token.Type begin = variable ? Token.Type.VAR_BEGIN : Token.Type.BLOCK_BEGIN;
    tokens.add(new Token(begin, variable ? "{{" : "{%", null, lineAt(open)));
    lexInside(bodyStart, variable, lineAt(open));
  }

  private char signAt(int i) {
    if (i < src.length() && (src.charAt(i) == '-' || src.charAt(i) == '+')) {
      return src.charAt(i);
    }
    return 0;
  }

  /** Applies "-" (strip all whitespace) or lstrip_blocks to the text that precedes a tag. */
  private String stripBefore(String text, char sign, boolean lstripApplies) {
    if (sign == '-') {
      return PyStr.rstrip(text, null);
    }
    if (sign == '+' || !lstripApplies) {
      return text;
    }
    int lineStart = text.lastIndexOf('\n') + 1;
    if ((lineStart > 0 || lineStarting) && lineStart < text.length() && PyStr.isAllSpace(text, lineStart)) {
      return text.substring(0, lineStart);
    }
    return text;
  }

  private void addText(String text, int at) {
    if (!text.isEmpty()) {
      tokens.add(new Token(Token.Type.TEXT, text, null, lineAt(at)));
    }
  }

  /** Matches {@code {%(-|+)? raw (-%}\s*|%})} at {@code open}; returns the end or -1. */
  private int matchRawBegin(int open) {
    int i = open + 2;
    if (signAt(i) != 0) {
      i++;
    }
    i = skipSpace(i);
    if (!src.startsWith("raw", i)) {
      return -1;
    }
    int afterWord = skipSpace(i + 3);
    if (afterWord == i + 3 && afterWord < src.length() && isNameChar(src.charAt(afterWord))) {
      return -1;
    }
    if (src.startsWith("-%}", afterWord)) {
      return skipSpace(afterWord + 3);
    }
    return src.startsWith("%}", afterWord) ? afterWord + 2 : -1;
  }

  private void lexRaw(int start, int line) {
    int search = start;
    while (true) {
      int p = src.indexOf("{%", search);
      if (p < 0) {
        throw new TemplateException(line, "missing end of raw directive");
      }
      char sign = signAt(p + 2);
      int i = skipSpace(p + 2 + (sign != 0 ? 1 : 0));
      if (src.startsWith("endraw", i)) {
        int end = blockEnd(skipSpace(i + 6));
        if (end >= 0) {
          addText(stripBefore(src.substring(start, p), sign, true), start);
          pos = end;
          lineStarting = src.charAt(end - 1) == '\n';
          return;
        }
      }
      search = p + 2;
    }
  }

  private void lexComment(int bodyStart, int line) {
    int close = src.indexOf("#}", bodyStart);
    if (close < 0) {
      throw new TemplateException(line, "missing end of comment tag");
    }
    char sign = close - 1 >= bodyStart ? signAt(close - 1) : 0;
    int end = close + 2;
    if (sign == '-') {
      end = skipSpace(end);
    } else if (sign == 0 && end < src.length() && src.charAt(end) == '\n') {
      end++;
    }
    pos = end;
    lineStarting = src.charAt(end - 1) == '\n';
  }

  /** Matches the end of a block tag at {@code p} (with trim_blocks); returns the end or -1. */
  private int blockEnd(int p) {
    if (src.startsWith("+%}", p)) {
      return p + 3;
    }
    if (src.startsWith("-%}", p)) {
      return skipSpace(p + 3);
    }
    if (src.startsWith("%}", p)) {
      return p + 2 < src.length() && src.charAt(p + 2) == '\n' ? p + 3 : p + 2;
    }
    return -1;
  }

  private int variableEnd(int p) {
    if (src.startsWith("-}}", p)) {
      return skipSpace(p + 3);
    }
    return src.startsWith("}}", p) ? p + 2 : -1;
  }

  private void lexInside(int start, boolean variable, int openLine) {
    int p = start;
    while (true) {
      if (p >= src.length()) {
        throw new TemplateException(openLine, "unexpected end of template, missing '" + (variable ? "}}" : "%}") + "'");
      }
      if (balance.isEmpty()) {
        int end = variable ? variableEnd(p) : blockEnd(p);
        if (end >= 0) {
          tokens.add(new Token(variable ? Token.Type.VAR_END : Token.Type.BLOCK_END, "", null, lineAt(p)));
          pos = end;
          lineStarting = src.charAt(end - 1) == '\n';
          return;
        }
      }
      p = lexOne(p);
    }
  }

  private int lexOne(int p) {
    char c = src.charAt(p);
    if (PyStr.isSpace(c)) {
      return p + 1;
    }
    if (c >= '0' && c <= '9') {
      return lexNumber(p);
    }
    if (c == '_' || Character.isLetter(c)) {
      int e = p + 1;
      while (e < src.length() && isNameChar(src.charAt(e))) {
        e++;
      }
      String name = src.substring(p, e);
      tokens.add(new Token(Token.Type.NAME, name, null, lineAt(p)));
      return e;
    }
    if (c == '\'' || c == '"') {
      return lexString(p, c);
    }
    return lexOperator(p);
  }

  private static boolean isNameChar(char c) {
    return c == '_' || Character.isLetterOrDigit(c);
  }

  private int lexNumber(int p) {
    int e = digits(p);
    boolean isFloat = false;
    if (e == p + 1 && src.charAt(p) == '0' && e < src.length() && "xXoObB".indexOf(src.charAt(e)) >= 0) {
      return lexRadixInteger(p);
    }
    if (e + 1 < src.length() && src.charAt(e) == '.' && isDigit(e + 1)) {
      e = digits(e + 1);
      isFloat = true;
    }
    if (e < src.length() && (src.charAt(e) == 'e' || src.charAt(e) == 'E')) {
      int x = e + 1;
      if (x < src.length() && (src.charAt(x) == '+' || src.charAt(x) == '-')) {
        x++;
      }
      if (isDigit(x)) {
        e = digits(x);
        isFloat = true;
      }
    }
    String text = src.substring(p, e);
    String clean = text.replace("_", "");
    Object value;
    try {
      value = isFloat ? (Object) Double.parseDouble(clean) : (Object) Long.parseLong(clean);
    } catch (NumberFormatException ex) {
      throw new TemplateException(lineAt(p), "integer literal too large: " + text);
    }
    tokens.add(new Token(isFloat ? Token.Type.FLOAT : Token.Type.INTEGER, text, value, lineAt(p)));
    return e;
  }

  private int lexRadixInteger(int p) {
    char kind = Character.toLowerCase(src.charAt(p + 1));
    int radix = kind == 'x' ? 16 : kind == 'o' ? 8 : 2;
    int e = p + 2;
    while (e < src.length() && (src.charAt(e) == '_' || Character.digit(src.charAt(e), radix) >= 0)) {
      e++;
    }
    String text = src.substring(p, e);
    try {
      long value = Long.parseLong(text.substring(2).replace("_", ""), radix);
      tokens.add(new Token(Token.Type.INTEGER, text, value, lineAt(p)));
    } catch (NumberFormatException ex) {
      throw new TemplateException(lineAt(p), "invalid integer literal " + text);
    }
    return e;
  }

  private boolean isDigit(int i) {
    return i < src.length() && src.charAt(i) >= '0' && src.charAt(i) <= '9';
  }

  private int digits(int p) {
    int e = p;
    while (e < src.length() && (isDigit(e) || (src.charAt(e) == '_' && isDigit(e + 1)))) {
      e++;
    }
    return e;
  }

  private int lexString(int p, char quote) {
    int e = p + 1;
    while (e < src.length() && src.charAt(e) != quote) {
      e += src.charAt(e) == '\\' ? 2 : 1;
    }
    if (e >= src.length()) {
      throw new TemplateException(lineAt(p), "unterminated string literal");
    }
    String raw = src.substring(p + 1, e);
    tokens.add(new Token(Token.Type.STRING, raw, PyStr.unescape(raw, lineAt(p)), lineAt(p)));
    return e + 1;
  }

  private int lexOperator(int p) {
    for (String op : OPERATORS) {
      if (src.startsWith(op, p)) {
        trackBalance(op, p);
        tokens.add(new Token(Token.Type.OPERATOR, op, null, lineAt(p)));
        return p + op.length();
      }
    }
    throw new TemplateException(lineAt(p), "unexpected char '" + src.charAt(p) + "'");
  }

  private void trackBalance(String op, int p) {
    char c = op.charAt(0);
    if (op.length() != 1) {
      return;
    }
    if (c == '(' || c == '[' || c == '{') {
      balance.push(c == '(' ? ')' : c == '[' ? ']' : '}');
    } else if (c == ')' || c == ']' || c == '}') {
      if (balance.isEmpty() || balance.peek() != c) {
        throw new TemplateException(lineAt(p), "unexpected '" + c + "'");
      }
      balance.pop();
    }
  }

  private int skipSpace(int i) {
    int e = i;
    while (e < src.length() && PyStr.isSpace(src.charAt(e))) {
      e++;
    }
    return e;
  }

  private int lineAt(int at) {
    if (at < lineCursorPos) {
      lineCursorPos = 0;
      lineCursorLine = 1;
    }
    for (int i = lineCursorPos; i < at && i < src.length(); i++) {
      if (src.charAt(i) == '\n') {
        lineCursorLine++;
      }
    }
    lineCursorPos = Math.max(lineCursorPos, Math.min(at, src.length()));
    return lineCursorLine;
  }
}
