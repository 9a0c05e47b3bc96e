package org.rlhfnode.runtime.tokenizer.jinja;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.rlhfnode.runtime.tokenizer.jinja.Jinja.dict;
import static org.rlhfnode.runtime.tokenizer.jinja.Jinja.render;

import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Operators, literals and value printing follow Python, as jinja2 evaluates them. */
class ExpressionTest {
  @Test
  void arithmeticFollowsPython() {
    assertEquals("3.5 3 -4 2 2.0 1024 0.5", render("{{ 7 / 2 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ -7 % 3 }} {{ 10 / 5 }} "
        + "{{ 2 ** 10 }} {{ 2 ** -1 }}"));
  }

  @Test
  void jinjaPrecedenceDiffersFromPythonForPowerAndUnaryMinus() {
    assertEquals("64 4", render("{{ 2 ** 3 ** 2 }} {{ -2 ** 2 }}"));
  }

  @Test
  void tildeConcatenatesStringForms() {
    assertEquals("a1NoneTrue2.0", render("{{ 'a' ~ 1 ~ none ~ true ~ 2.0 }}"));
  }

  @Test
  void plusJoinsStringsAndListsAndStarRepeats() {
    assertEquals("ab [1, 2] abab [0, 0, 0]", render("{{ 'a' + 'b' }} {{ [1] + [2] }} {{ 'ab' * 2 }} {{ [0] * 3 }}"));
  }

  @Test
  void comparisonsChainAndCompareAcrossNumericTypes() {
    assertEquals("True False True True False", render("{{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }} {{ 1 == 1.0 }} "
        + "{{ true == 1 }} {{ [1, 2] == (1, 2) }}"));
  }

  @Test
  void membershipWorksOnStringsListsAndDictKeys() {
    assertEquals("True True True True", render("{{ 'ell' in 'hello' }} {{ 2 in [1, 2] }} {{ 'k' in d }} "
        + "{{ 'x' not in d }}", "d", dict("k", 1)));
  }

  @Test
  void booleanOperatorsReturnOperandsLikePython() {
    assertEquals("x|0|y|False", render("{{ true and 'x' }}|{{ false or 0 }}|{{ none or 'y' }}|{{ not 'a' }}"));
  }

  @Test
  void conditionalExpressionWithoutElseIsUndefined() {
    assertEquals("yes||", render("{{ 'yes' if 1 }}|{{ 'yes' if 0 }}|"));
  }

  @Test
  void valuesPrintAsPythonWould() {
    assertEquals("None True False 42 1.0 ['a', 1, None] {'k': 'v', 'n': [True]} (1,) ()",
        render("{{ none }} {{ true }} {{ False }} {{ 42 }} {{ 1.0 }} {{ ['a', 1, none] }} {{ {'k': 'v', 'n': [true]} }} "
            + "{{ (1,) }} {{ () }}"));
  }

  @Test
  void floatsPrintAsPythonRepr() {
    assertEquals("0.30000000000000004 1e+16 1234567890123456.0 0.0001 1e-05 inf -0.0",
        render("{{ 0.1 + 0.2 }} {{ 1e16 }} {{ 1234567890123456.0 }} {{ 0.0001 }} {{ 0.00001 }} {{ 1e308 * 10 }} "
            + "{{ -0.0 }}"));
  }

  @Test
  void stringReprPicksQuotesAndEscapesLikePython() {
    assertEquals("[\"it's\", 'say \"hi\"', 'a\\nb', 'tab\\t', '\\x00']",
        render("{{ [\"it's\", 'say \"hi\"', 'a\\nb', 'tab\\t', '\\x00'] }}"));
  }

  @Test
  void stringLiteralEscapesAreDecoded() {
    assertEquals("a\tbAé😀\n", render("{{ 'a\\tb\\x41\\u00e9\\U0001F600\\n' }}"));
  }

  @Test
  void adjacentStringLiteralsConcatenate() {
    assertEquals("abc", render("{{ 'a' \"b\" 'c' }}"));
  }

  @Test
  void numberLiteralsAllowUnderscoresExponentsAndRadixPrefixes() {
    assertEquals("1000 1500.0 26", render("{{ 1_000 }} {{ 1.5e3 }} {{ 0x10 + 0o10 + 0b10 }}"));
  }

  @Test
  void subscriptsAndSlicesFollowPythonIncludingNegativeSteps() {
    assertEquals("o|olleh|[2, 3]|[5, 3, 1]|[4, 5]|ell",
        render("{{ s[-1] }}|{{ s[::-1] }}|{{ xs[1:3] }}|{{ xs[::-2] }}|{{ xs[-2:] }}|{{ s[1:-1] }}",
            "s", "hello", "xs", List.of(1, 2, 3, 4, 5)));
  }

  @Test
  void stringsIndexByCodePointNotUtf16Unit() {
    assertEquals("😀|3|b😀", render("{{ s[1] }}|{{ s|length }}|{{ s[::-1][:2] }}", "s", "a😀b"));
  }

  @Test
  void outOfRangeIndexIsUndefined() {
    assertEquals("|False", render("{{ xs[5] }}|{{ xs[5] is defined }}", "xs", List.of(1)));
  }

  @Test
  void attributeAccessFallsBackToDictKeysAndSubscriptToAttributes() {
    assertEquals("user user 2", render("{{ m.role }} {{ m['role'] }} {{ m.items()|list|length }}",
        "m", dict("role", "user", "content", "hi")));
  }

  @Test
  void attributeSyntaxPrefersDictMethodsOverKeysAsJinjaDoes() {
    assertEquals("[('items', 5)] 5", render("{{ d.items()|list }} {{ d['items'] }}", "d", dict("items", 5)));
  }

  @Test
  void dictAndListLiteralsKeepInsertionOrder() {
    assertEquals("{'b': 1, 'a': 2}", render("{{ {'b': 1, 'a': 2} }}"));
  }

  @Test
  void undefinedIsFalsyEmptyAndIterableAsEmpty() {
    assertEquals("|F|0|E", render("{{ nope }}|{{ 'T' if nope else 'F' }}|{{ nope|length }}|"
        + "{% for x in nope %}x{% else %}E{% endfor %}"));
  }

  @Test
  void missingDictKeyIsUndefinedAndNotDefined() {
    assertEquals("False True", render("{{ m.reasoning is defined }} {{ m.reasoning is undefined }}", "m", dict("a", 1)));
  }

  @Test
  void javaNumbersBehaveAsPythonInts() {
    assertEquals("3 2.5 True", render("{{ a + b }} {{ c }} {{ a == 1 }}", "a", 1, "b", 2L, "c", 2.5f));
  }

  @Test
  void nullsInJavaCollectionsAreNone() {
    assertEquals("[None, 'x']", render("{{ xs }}", "xs", Arrays.asList(null, "x")));
  }
}
