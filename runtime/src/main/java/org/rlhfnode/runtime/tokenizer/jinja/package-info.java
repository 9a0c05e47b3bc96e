/**
 * A Jinja2 subset for HuggingFace chat templates, evaluated with Python semantics so that a
 * template renders byte for byte as {@code transformers} renders it (jinja2 with
 * {@code trim_blocks}, {@code lstrip_blocks}, the {@code loopcontrols} extension, HF's
 * {@code generation} tag, an immutable sandbox, and HF's {@code tojson}, {@code raise_exception}
 * and {@code strftime_now}).
 *
 * <p>Supported: output, statement and comment tags with {@code -}/{@code +} whitespace control;
 * {@code for} (loop variable, {@code else}, inline {@code if}, tuple unpacking), {@code if},
 * {@code set} (names, tuples, namespace attributes, block form with filters), {@code macro},
 * {@code call}, {@code filter}, {@code with}, {@code break}, {@code continue}, {@code raw};
 * Python operators, literals, subscripts and slices; the common filters, tests and str/dict
 * methods. Deliberately left out, and reported as errors rather than guessed: template loading
 * ({@code include}, {@code extends}, {@code block}, {@code import}), recursive loops, autoescaping
 * and markup-aware filters, and a handful of rarely used filters ({@code wordwrap},
 * {@code truncate}, {@code groupby}, {@code urlize}, ...).
 *
 * <p>The entry point is {@link org.rlhfnode.runtime.tokenizer.jinja.Template}.
 */
package org.rlhfnode.runtime.tokenizer.jinja;
