package org.rlhfnode.runtime.tokenizer.jinja;

/**
 * A chat template that cannot be compiled or rendered: a syntax error, a Jinja feature this subset
 * does not implement, or a runtime error such as an undefined variable used in arithmetic. The
 * message is one line of the form {@code chat template line 12: unsupported filter 'wordwrap'}.
 */
public class TemplateException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** Line number within the template, or 0 while the error has not yet been tied to a node. */
  private final int line;
  private final String detail;

  public TemplateException(int line, String detail) {
    super(format(line, detail));
    this.line = line;
    this.detail = detail;
  }

  TemplateException(int line, String detail, Throwable cause) {
    this(line, detail);
    initCause(cause);
  }

  /** An error raised by helper code that does not know the line; the evaluator adds it. */
  TemplateException(String detail) {
    this(0, detail);
  }

  /** The 1-based template line the error refers to, or 0 when unknown. */
  public int line() {
    return line;
  }

  /** The message without the {@code chat template line N:} prefix. */
  public String detail() {
    return detail;
  }

  /** Returns this exception if it already names a line, otherwise a copy that names {@code at}. */
  TemplateException atLine(int at) {
    if (line > 0 || at <= 0) {
      return this;
    }
    TemplateException copy = withLine(at);
    copy.setStackTrace(getStackTrace());
    return copy;
  }

  TemplateException withLine(int at) {
    return new TemplateException(at, detail);
  }

  private static String format(int line, String detail) {
    String oneLine = detail.replace('\n', ' ').replace('\r', ' ');
    return line > 0 ? "chat template line " + line + ": " + oneLine : "chat template: " + oneLine;
  }
}
