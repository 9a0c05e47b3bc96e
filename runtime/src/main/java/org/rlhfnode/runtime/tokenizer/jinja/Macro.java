package org.rlhfnode.runtime.tokenizer.jinja;

import java.util.List;

/**
 * A macro defined with {@code {% macro %}}, or the {@code caller} body of a call block. It closes
 * over the scope it was defined in, so it sees variables that scope holds when it is called.
 */
final class Macro implements JCallable {
  private final String name;
  private final List<Node.Param> params;
  private final List<Node> body;
  private final Scope definedIn;
  private final Interpreter interpreter;

  Macro(String name, List<Node.Param> params, List<Node> body, Scope definedIn, Interpreter interpreter) {
    this.name = name;
    this.params = params;
    this.body = body;
    this.definedIn = definedIn;
    this.interpreter = interpreter;
  }

  @Override
  public String name() {
    return name;
  }

  List<Node.Param> params() {
    return params;
  }

  List<Node> body() {
    return body;
  }

  Scope definedIn() {
    return definedIn;
  }

  @Override
  public Object call(CallArgs args) {
    return interpreter.invoke(this, args, null);
  }

  Object callWithCaller(CallArgs args, Macro caller) {
    return interpreter.invoke(this, args, caller);
  }
}
