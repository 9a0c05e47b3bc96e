package org.rlhfnode.runtime.tokenizer.jinja;

/**
 * jinja2's default {@code Undefined}: falsy, renders as "", iterates as empty, equals only another
 * undefined; any other use (arithmetic, attribute access, calling) fails with a message naming
 * what was missing, as jinja2 does.
 */
final class Undefined {
  private final String message;

  private Undefined(String message) {
    this.message = message;
  }

  static Undefined variable(String name) {
    return new Undefined("'" + name + "' is undefined");
  }

  static Undefined attribute(Object owner, Object attr) {
    String key = attr instanceof String ? (String) attr : PyRepr.repr(attr);
    return new Undefined("'" + Py.typeName(owner) + " object' has no attribute " + PyRepr.repr(key));
  }

  static Undefined because(String message) {
    return new Undefined(message);
  }

  TemplateException error() {
    return new TemplateException(message);
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof Undefined;
  }

  @Override
  public int hashCode() {
    return 0;
  }

  @Override
  public String toString() {
    return "";
  }
}
