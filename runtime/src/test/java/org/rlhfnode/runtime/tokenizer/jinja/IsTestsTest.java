package org.rlhfnode.runtime.tokenizer.jinja;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.rlhfnode.runtime.tokenizer.jinja.Jinja.dict;
import static org.rlhfnode.runtime.tokenizer.jinja.Jinja.render;

import org.junit.jupiter.api.Test;

/** jinja2's {@code is} tests, including the Python type rules behind them (bool is a number). */
class IsTestsTest {
  @Test
  void definednessAndNone() {
    assertEquals("True False True True False", render("{{ x is defined }} {{ y is defined }} {{ y is undefined }} "
        + "{{ n is none }} {{ x is none }}", "x", 1, "n", null));
  }

  @Test
  void typeTests() {
    assertEquals("True True False True True True True False", render("{{ 's' is string }} {{ 1 is number }} "
        + "{{ true is integer }} {{ true is number }} {{ 1.5 is float }} {{ d is mapping }} {{ [] is iterable }} "
        + "{{ 3 is iterable }}", "d", dict()));
  }

  @Test
  void sequenceAndBooleanTests() {
    assertEquals("True True False True False True True", render("{{ 'ab' is sequence }} {{ [1] is sequence }} "
        + "{{ 3 is sequence }} {{ false is boolean }} {{ 0 is boolean }} {{ true is true }} {{ false is false }}"));
  }

  @Test
  void numericTests() {
    assertEquals("True False True False", render("{{ 3 is odd }} {{ 3 is even }} {{ 9 is divisibleby 3 }} "
        + "{{ 9 is divisibleby(2) }}"));
  }

  @Test
  void comparisonAndMembershipTests() {
    assertEquals("True True True True False", render("{{ 'a' is equalto 'a' }} {{ 2 is eq 2 }} {{ 3 is gt 2 }} "
        + "{{ 2 is in [1, 2] }} {{ 'z' is in 'abc' }}"));
  }

  @Test
  void negatedTestsAndTestsInsideConditions() {
    assertEquals("yes", render("{% if x is not none and x is string and not x is number %}yes{% endif %}", "x", "s"));
  }

  @Test
  void falseTestIsIdentityNotFalsiness() {
    assertEquals("True False", render("{{ e is false }} {{ 0 is false }}", "e", false));
  }
}
