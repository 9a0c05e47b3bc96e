package org.rlhfnode.runtime.tokenizer.jinja;

/** Something a template can call: a global function, a macro, {@code caller} or a loop helper. */
interface JCallable {
  String name();

  Object call(CallArgs args);
}
