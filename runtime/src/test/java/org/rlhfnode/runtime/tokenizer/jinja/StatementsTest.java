package org.rlhfnode.runtime.tokenizer.jinja;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.rlhfnode.runtime.tokenizer.jinja.Jinja.dict;
import static org.rlhfnode.runtime.tokenizer.jinja.Jinja.render;

import java.util.List;
import org.junit.jupiter.api.Test;

class StatementsTest {
  @Test
  void loopVariableExposesPositionAndNeighbours() {
    assertEquals("1 0 3 2 True False 3 - b|2 1 2 1 False False 3 a c|3 2 1 0 False True 3 b -|",
        render("{% for x in xs %}{{ loop.index }} {{ loop.index0 }} {{ loop.revindex }} {{ loop.revindex0 }} "
            + "{{ loop.first }} {{ loop.last }} {{ loop.length }} {{ loop.previtem|default('-') }} "
            + "{{ loop.nextitem|default('-') }}|{% endfor %}", "xs", List.of("a", "b", "c")));
  }

  @Test
  void loopElseRunsWhenNothingWasIterated() {
    assertEquals("empty|none", render("{% for x in [] %}x{% else %}empty{% endfor %}|"
        + "{% for x in [1, 2] if x > 5 %}{{ x }}{% else %}none{% endfor %}"));
  }

  /** jinja2 decides on the else block by whether any iteration ran to the end of the loop body. */
  @Test
  void loopElseAlsoRunsAfterABreakInTheFirstIterationOrWhenEveryIterationContinues() {
    assertEquals("A1BA2|A1E|AAAE", render("{% for m in xs %}A{{ m }}{% if m == 2 %}{% break %}{% endif %}B"
        + "{% else %}E{% endfor %}|{% for m in xs %}A{{ m }}{% break %}B{% else %}E{% endfor %}|"
        + "{% for m in xs %}A{% continue %}{% else %}E{% endfor %}", "xs", List.of(1, 2, 3)));
  }

  @Test
  void inlineIfFiltersBeforeLoopCountsAreTaken() {
    assertEquals("3/2 4/2 ", render("{% for x in [1, 2, 3, 4] if x > 2 %}{{ x }}/{{ loop.length }} {% endfor %}"));
  }

  @Test
  void tupleUnpackingOverDictItems() {
    assertEquals("a=1;b=2;", render("{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}", "d", dict("a", 1, "b", 2)));
  }

  @Test
  void breakAndContinue() {
    assertEquals("0246", render("{% for i in range(10) %}{% if i is odd %}{% continue %}{% endif %}"
        + "{% if i > 6 %}{% break %}{% endif %}{{ i }}{% endfor %}"));
  }

  @Test
  void loopCycleAndReverseIteration() {
    assertEquals("a:c b:b a:a ", render("{% for x in xs[::-1] %}{{ loop.cycle('a', 'b') }}:{{ x }} {% endfor %}",
        "xs", List.of("a", "b", "c")));
  }

  @Test
  void ifElifElse() {
    assertEquals("c", render("{% if false %}a{% elif 0 %}b{% elif 'x' %}c{% else %}d{% endif %}"));
  }

  @Test
  void assignmentsInsideLoopsDoNotLeakButNamespacesDo() {
    assertEquals("2 1|6", render("{% set x = 1 %}{% for i in [1] %}{% set x = 2 %}{{ x }}{% endfor %} {{ x }}|"
        + "{% set ns = namespace(total=0) %}{% for i in [1, 2, 3] %}{% set ns.total = ns.total + i %}{% endfor %}"
        + "{{ ns.total }}"));
  }

  @Test
  void assignmentsInsideIfDoLeak() {
    assertEquals("2", render("{% set x = 1 %}{% if true %}{% set x = 2 %}{% endif %}{{ x }}"));
  }

  @Test
  void blockSetCapturesRenderedTextAndAppliesFilters() {
    assertEquals("[ a 2 ]|SHOUT", render("{% set x %} a {{ 1 + 1 }} {% endset %}[{{ x }}]|"
        + "{% set y | trim | upper %}  shout  {% endset %}{{ y }}"));
  }

  @Test
  void tupleAssignment() {
    assertEquals("21", render("{% set a, b = 1, 2 %}{{ b }}{{ a }}"));
  }

  @Test
  void macrosWithDefaultsAndKeywordArguments() {
    assertEquals("Hi, Ann! Yo, Bob! Hey, Cy!", render("{% macro hello(name, greeting='Hi') %}{{ greeting }}, {{ name }}!"
        + "{% endmacro %}{{ hello('Ann') }} {{ hello('Bob', 'Yo') }} {{ hello(greeting='Hey', name='Cy') }}"));
  }

  @Test
  void macrosSeeTemplateVariablesAtCallTime() {
    assertEquals("late", render("{% macro show() %}{{ g }}{% endmacro %}{% set g = 'late' %}{{ show() }}"));
  }

  @Test
  void callBlockPassesItsBodyAsCaller() {
    assertEquals("<#1><#2>", render("{% macro each(items) %}{% for i in items %}<{{ caller(i) }}>{% endfor %}"
        + "{% endmacro %}{% call(item) each([1, 2]) %}#{{ item }}{% endcall %}"));
  }

  @Test
  void withBlockScopesItsVariables() {
    assertEquals("3 False", render("{% with a = 1, b = 2 %}{{ a + b }}{% endwith %} {{ a is defined }}"));
  }

  @Test
  void generationTagRendersItsBody() {
    assertEquals("<a>", render("<{% generation %}{{ x }}{% endgeneration %}>", "x", "a"));
  }

  @Test
  void rangeAndDictAndNamespaceGlobals() {
    assertEquals("[0, 1, 2] [1, 3] {'a': 1} 5", render("{{ range(3)|list }} {{ range(1, 5, 2)|list }} {{ dict(a=1) }} "
        + "{{ namespace(v=5).v }}"));
  }

  @Test
  void strftimeNowUsesTheRenderClock() {
    assertEquals("26 Jul 2024|Friday 10:15", render("{{ strftime_now('%d %b %Y') }}|{{ strftime_now('%A %H:%M') }}"));
  }
}
