package org.rlhfnode.runtime.tokenizer.jinja;

import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A compiled Jinja2 template, rendered with the settings HuggingFace uses for chat templates
 * ({@code trim_blocks}, {@code lstrip_blocks}, {@code loopcontrols}, an immutable sandbox, and the
 * {@code raise_exception}/{@code strftime_now} globals). Compiling checks every tag, filter and test,
 * so an unsupported feature fails at {@link #compile} rather than rendering wrong text.
 * Instances are immutable and safe to render from several threads.
 */
public final class Template {
  private final String source;
  private final List<Node> body;

  private Template(String source, List<Node> body) {
    this.source = source;
    this.body = body;
  }

  /** Parses {@code source}; throws {@link TemplateException} naming the line of a syntax error. */
  public static Template compile(String source) {
    Objects.requireNonNull(source, "source");
    return new Template(source, Parser.parse(source));
  }

  public String source() {
    return source;
  }

  /** Renders with the system clock for {@code strftime_now}. */
  public String render(Map<String, ?> context) {
    return render(context, Clock.systemDefaultZone());
  }

  /**
   * Renders with {@code context} as the template's variables. Values are plain Java objects: null
   * (None), Boolean, Integer/Long, Double, String, List and Map (use insertion-ordered maps, since
   * {@code tojson} and loops keep their order).
   */
  public String render(Map<String, ?> context, Clock clock) {
    Scope globals = new Scope(null);
    Globals.install(globals, clock);
    Scope root = globals.child();
    context.forEach(root::set);
    StringBuilder out = new StringBuilder();
    new Interpreter().exec(body, root, out);
    return out.toString();
  }
}
