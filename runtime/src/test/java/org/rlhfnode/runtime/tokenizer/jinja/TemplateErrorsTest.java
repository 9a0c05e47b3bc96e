package org.rlhfnode.runtime.tokenizer.jinja;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.rlhfnode.runtime.tokenizer.jinja.Jinja.render;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Anything outside the supported subset fails loudly, on one line, naming the feature and line. */
class TemplateErrorsTest {
  private static TemplateException failure(String template) {
    TemplateException e = assertThrows(TemplateException.class, () -> render(template));
    assertFalse(e.getMessage().contains("\n"), e.getMessage());
    return e;
  }

  @Test
  void unsupportedFilterFailsAtCompileTimeWithItsLine() {
    TemplateException e = assertThrows(TemplateException.class,
        () -> Template.compile("line one\n{% if x %}\n{{ x | wordwrap }}\n{% endif %}"));
    assertEquals("chat template line 3: unsupported filter 'wordwrap'", e.getMessage());
    assertEquals(3, e.line());
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "{% include 'x.jinja' %}|chat template line 1: unsupported tag 'include'",
      "{% extends 'base' %}|chat template line 1: unsupported tag 'extends'",
      "{% do xs.append(1) %}|chat template line 1: unsupported tag 'do'",
      "\\n{{ x is escaped }}|chat template line 2: unsupported test 'escaped'",
      "{% for x in y recursive %}{% endfor %}|chat template line 1: unsupported loop modifier 'recursive'",
      "{% break %}|chat template line 1: 'break' outside of a loop",
      "{{ 'abc' }|chat template line 1: unexpected '}'"})
  void unsupportedSyntaxIsRejectedAtCompileTime(String template, String message) {
    TemplateException e = assertThrows(TemplateException.class, () -> Template.compile(template.replace("\\n", "\n")));
    assertEquals(message, e.getMessage());
  }

  @Test
  void unclosedBlockNamesTheOpeningTag() {
    assertEquals("chat template line 3: unexpected end of template, expected 'else' or 'endfor' to close 'for' from line 2",
        failure("a\n{% for x in xs %}\n{{ x }}").getMessage());
  }

  @Test
  void mismatchedEndTagIsReported() {
    assertEquals("chat template line 1: unexpected 'endif', expected 'else' or 'endfor'",
        failure("{% for x in xs %}{% endif %}").getMessage());
  }

  @Test
  void unsupportedMethodsAndFunctionsFailAtRenderTime() {
    assertEquals("chat template line 2: unsupported string method 'zfill'", failure("\n{{ 'x'.zfill(3) }}").getMessage());
    assertEquals("chat template line 1: unsupported function 'cycler'", failure("{{ cycler(1, 2) }}").getMessage());
  }

  @Test
  void mutatingMethodsAreRejectedLikeHfImmutableSandbox() {
    assertEquals("chat template line 1: access to attribute 'append' of 'list' object is unsafe "
        + "(HuggingFace renders chat templates in an immutable sandbox)", failure("{{ [].append(1) }}").getMessage());
  }

  @Test
  void raiseExceptionCarriesTheTemplatesMessageAndLine() {
    TemplateRaisedException e = assertThrows(TemplateRaisedException.class,
        () -> render("{% if true %}\n  {{ raise_exception('Roles must alternate!') }}\n{% endif %}"));
    assertEquals("Roles must alternate!", e.templateMessage());
    assertEquals("chat template line 2: raise_exception: Roles must alternate!", e.getMessage());
  }

  @Test
  void usingUndefinedValuesBeyondTruthinessFailsAsInJinja() {
    assertEquals("chat template line 1: 'nope' is undefined", failure("{{ nope + 'x' }}").getMessage());
    assertEquals("chat template line 1: 'nope' is undefined", failure("{{ nope.attr }}").getMessage());
    assertEquals("chat template line 1: 'dict object' has no attribute 'content'",
        failure("{{ {'role': 'user'}.content.strip() }}").getMessage());
  }

  @Test
  void typeErrorsUsePythonWording() {
    assertEquals("chat template line 1: can only concatenate str (not \"int\") to str", failure("{{ 'a' + 1 }}").getMessage());
    assertEquals("chat template line 1: '<' not supported between instances of 'int' and 'str'",
        failure("{{ 1 < 'a' }}").getMessage());
    assertEquals("chat template line 1: 'NoneType' object is not iterable", failure("{% for x in none %}{% endfor %}")
        .getMessage());
  }

  @Test
  void slicingSomethingThatIsNotASequenceFailsAsInPython() {
    assertEquals("chat template line 1: unhashable type: 'slice'", failure("{{ {'a': 1}[1:] }}").getMessage());
    assertEquals("chat template line 1: 'NoneType' object is not subscriptable", failure("{{ none[1:] }}").getMessage());
  }

  @Test
  void indentRequiresAString() {
    assertEquals("chat template line 1: filter 'indent': expected str, got int", failure("{{ 3|indent }}").getMessage());
  }

  @Test
  void listsCannotBeDictKeys() {
    assertEquals("chat template line 1: unhashable type: 'list'", failure("{{ [1] in {'a': 1} }}").getMessage());
  }

  @Test
  void integerOverflowIsAnErrorNotAWrappedValue() {
    assertEquals("chat template line 1: integer overflow in '**'", failure("{{ 2 ** 64 }}").getMessage());
  }

  @Test
  void assigningAttributesRequiresANamespace() {
    assertEquals("chat template line 1: cannot assign attribute on non-namespace object",
        failure("{% set x = 1 %}{% set x.a = 2 %}").getMessage());
  }
}
