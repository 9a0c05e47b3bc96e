package org.rlhfnode.runtime.tokenizer.jinja;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.rlhfnode.runtime.tokenizer.jinja.Jinja.dict;
import static org.rlhfnode.runtime.tokenizer.jinja.Jinja.render;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class FiltersTest {
  private static final List<Map<String, Object>> MESSAGES = List.of(
      dict("role", "system", "content", " be brief "),
      dict("role", "user", "content", "hi"),
      dict("role", "assistant", "content", "hello"),
      dict("role", "user", "content", "bye"));

  @Test
  void tojsonMatchesPythonJsonDumpsWithHfDefaults() {
    Map<String, Object> tool = dict("name", "f", "args", dict("x", 1, "y", 2.5, "z", Arrays.asList(true, null)),
        "text", "é \"q\" \n </s>");
    assertEquals("{\"name\": \"f\", \"args\": {\"x\": 1, \"y\": 2.5, \"z\": [true, null]}, "
        + "\"text\": \"é \\\"q\\\" \\n </s>\"}", render("{{ t|tojson }}", "t", tool));
  }

  @Test
  void tojsonSupportsIndentSortKeysAndAsciiEscaping() {
    assertEquals("{\n  \"b\": [\n    1\n  ],\n  \"a\": {}\n}", render("{{ {'b': [1], 'a': {}}|tojson(indent=2) }}"));
    assertEquals("{\"a\": 2, \"b\": 1}", render("{{ {'b': 1, 'a': 2}|tojson(sort_keys=true) }}"));
    assertEquals("\"\\u00e9\\ud83d\\ude00\"", render("{{ 'é😀'|tojson(ensure_ascii=true) }}"));
  }

  @Test
  void tojsonPositionalArgumentIsEnsureAsciiAsInHfSignature() {
    assertEquals("[\"\\u00e9\"]", render("{{ ['é']|tojson(2) }}"));
  }

  @Test
  void stringFilters() {
    assertEquals("[be brief]|HI|hi|Hello world|Hello World-Foo (Bar|x-y-x",
        render("[{{ s|trim }}]|{{ 'hi'|upper }}|{{ 'HI'|lower }}|{{ 'hELLO WORLD'|capitalize }}|"
            + "{{ 'hello world-foo (bar'|title }}|{{ 'xax'|replace('a', '-y-') }}", "s", "  be brief \n"));
  }

  @Test
  void trimTakesOptionalCharacters() {
    assertEquals("a", render("{{ 'xxaxx'|trim('x') }}"));
  }

  @Test
  void indentFilterMatchesJinja() {
    assertEquals("a\n  b\n\n  c", render("{{ 'a\\nb\\n\\nc'|indent(2) }}"));
    assertEquals("  a\n  b", render("{{ 'a\\nb'|indent(2, true) }}"));
  }

  @Test
  void lengthCountFirstLastAndList() {
    assertEquals("4 4 system user ['a', 'b'] ['k']",
        render("{{ m|length }} {{ m|count }} {{ (m|first).role }} {{ (m|last).role }} {{ 'ab'|list }} {{ d|list }}",
            "m", MESSAGES, "d", dict("k", 1)));
  }

  @Test
  void joinWithSeparatorAndAttribute() {
    assertEquals("1, 2|system/user/assistant/user", render("{{ [1, 2]|join(', ') }}|{{ m|join('/', attribute='role') }}",
        "m", MESSAGES));
  }

  @Test
  void defaultOnlyReplacesUndefinedUnlessBooleanIsSet() {
    assertEquals("d||d|None", render("{{ nope|default('d') }}|{{ ''|d('d') }}|{{ ''|default('d', true) }}|"
        + "{{ none|default('d') }}"));
  }

  @Test
  void selectattrRejectattrAndMapAttribute() {
    assertEquals("hi,bye|system,assistant|2",
        render("{{ m|selectattr('role', 'equalto', 'user')|map(attribute='content')|join(',') }}|"
            + "{{ m|rejectattr('role', 'eq', 'user')|map(attribute='role')|join(',') }}|"
            + "{{ m|selectattr('role', 'equalto', 'user')|list|length }}", "m", MESSAGES));
  }

  @Test
  void selectAndRejectWithTestsAndArguments() {
    assertEquals("[1, 3] [2] [2, 4] [3, 4]", render("{{ xs|select('odd')|list }} {{ [1, 2, 3]|reject('odd')|list }} "
        + "{{ xs|select('divisibleby', 2)|list }} {{ xs|select('gt', 2)|list }}", "xs", List.of(1, 2, 3, 4)));
  }

  @Test
  void mapAppliesAFilterByName() {
    assertEquals("A,B", render("{{ ['a', 'b']|map('upper')|join(',') }}"));
  }

  @Test
  void itemsAndDictsort() {
    assertEquals("[('b', 1), ('a', 2)] [('a', 2), ('b', 1)] [('b', 1), ('a', 2)]",
        render("{{ d|items|list }} {{ d|dictsort }} {{ d|dictsort(by='value') }}", "d", dict("b", 1, "a", 2)));
  }

  @Test
  void uniqueSortMinMaxSum() {
    assertEquals("['a', 'b'] ['A', 'b', 'c'] c A 6", render("{{ ['a', 'A', 'b']|unique|list }} {{ ['b', 'A', 'c']|sort }} "
        + "{{ ['b', 'A', 'c']|max }} {{ ['b', 'A', 'c']|min }} {{ [1, 2, 3]|sum }}"));
  }

  @Test
  void numericFilters() {
    assertEquals("3 0 3.5 5 2.0 4.0 2.67 20", render("{{ '3'|int }} {{ 'x'|int }} {{ '3.5'|float }} {{ -5|abs }} "
        + "{{ 2.5|round }} {{ 3.5|round }} {{ 2.675|round(2) }} {{ 17|round(-1) }}"));
  }

  @Test
  void intFilterParsesLikePythonIntThenFloat() {
    assertEquals("31 255 -16 123 7 0", render("{{ '0x1f'|int(0, 0) }} {{ 'ff'|int(base=16) }} {{ '-0x10'|int(0, 16) }} "
        + "{{ ' 12_3 '|int }} {{ '7.9'|int }} {{ '- 5'|int }}"));
  }

  @Test
  void stringAndSafeAndEscape() {
    assertEquals("[1, 'a']|<b>|&lt;b&gt; &amp; &#34;q&#34; &#39;", render("{{ [1, 'a']|string }}|{{ '<b>'|safe }}|"
        + "{{ '<b> & \"q\" \\''|e }}"));
  }

  @Test
  void reverseAndBatch() {
    assertEquals("[3, 2, 1] cba [[1, 2], [3]]", render("{{ [1, 2, 3]|reverse|list }} {{ 'abc'|reverse }} "
        + "{{ [1, 2, 3]|batch(2)|list }}"));
  }

  @Test
  void generatorsAreSinglePassAndHaveNoLength() {
    assertEquals("[1, 3][]", render("{% set g = [1, 2, 3]|select('odd') %}{{ g|list }}{{ g|list }}"));
    TemplateException e = assertThrows(TemplateException.class,
        () -> render("{{ [1, 2]|select('odd')|length }}"));
    assertTrue(e.getMessage().contains("object of type 'generator' has no len()"), e.getMessage());
  }

  @Test
  void generatorsAreTruthyEvenWhenEmptyAsInPython() {
    assertEquals("T", render("{% if [1]|select('even') %}T{% endif %}"));
  }

  @Test
  void selectAndMapOnFalsyValuesYieldNothingAsJinjaChecksTruthinessFirst() {
    assertEquals("[]|[]|[]", render("{{ none|map(attribute='name')|list }}|{{ 0|select('odd')|list }}|"
        + "{{ nope|selectattr('x')|list }}"));
  }

  @Test
  void sequenceFiltersOnUndefinedSeeAnEmptySequence() {
    assertEquals("[]||0", render("{{ nope|sort }}|{{ nope|join(',') }}|{{ nope|length }}"));
  }

  @Test
  void filterBlockAndFormatFilter() {
    assertEquals("ABC 1-x", render("{% filter upper %}abc{% endfilter %} {{ '%d-%s'|format(1, 'x') }}"));
  }
}
