package org.rlhfnode.runtime.tokenizer.jinja;

import java.util.function.Function;

/** A named Java function exposed to templates (globals such as {@code range}, loop helpers). */
record Builtin(String name, Function<CallArgs, Object> body) implements JCallable {
  @Override
  public Object call(CallArgs args) {
    return body.apply(args);
  }
}
