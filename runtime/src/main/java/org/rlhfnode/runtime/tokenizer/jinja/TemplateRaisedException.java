package org.rlhfnode.runtime.tokenizer.jinja;

/**
 * Thrown when a template calls {@code raise_exception(msg)}, which HuggingFace chat templates use
 * to reject conversations they cannot format (for example roles that do not alternate). Callers
 * that filter datasets can catch this type to skip such samples while still failing on template bugs.
 */
public final class TemplateRaisedException extends TemplateException {
  private static final long serialVersionUID = 1L;

  private final String templateMessage;

  TemplateRaisedException(int line, String templateMessage) {
    super(line, "raise_exception: " + templateMessage);
    this.templateMessage = templateMessage;
  }

  /** The message exactly as the template passed it to {@code raise_exception}. */
  public String templateMessage() {
    return templateMessage;
  }

  @Override
  TemplateException withLine(int at) {
    return new TemplateRaisedException(at, templateMessage);
  }
}
