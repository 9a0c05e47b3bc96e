package org.rlhfnode.runtime.tokenizer.jinja;

/** One lexical unit of a template; {@code text} holds the literal for names, strings and operators. */
record Token(Type type, String text, Object value, int line) {

  enum Type { TEXT, VAR_BEGIN, VAR_END, BLOCK_BEGIN, BLOCK_END, NAME, STRING, INTEGER, FLOAT, OPERATOR, EOF }

  boolean is(Type t, String s) {
    return type == t && text.equals(s);
  }

  boolean isName(String s) {
    return is(Type.NAME, s);
  }

  boolean isOp(String s) {
    return is(Type.OPERATOR, s);
  }

  String describe() {
    switch (type) {
      case EOF:
        return "end of template";
      case VAR_END:
        return "end of print statement";
      case BLOCK_END:
        return "end of statement block";
      case STRING:
        return "string";
      default:
        return "'" + text + "'";
    }
  }
}
