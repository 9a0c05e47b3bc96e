package org.rlhfnode.runtime.tokenizer.jinja;

/** A Python method looked up on a value ({@code 'abc'.upper}); calling it dispatches to {@link Methods}. */
record BoundMethod(Object self, String name) {}
