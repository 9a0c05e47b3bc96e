package org.rlhfnode.runtime.tokenizer.jinja;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.rlhfnode.runtime.tokenizer.jinja.Jinja.dict;
import static org.rlhfnode.runtime.tokenizer.jinja.Jinja.render;

import org.junit.jupiter.api.Test;

/** Python str and dict methods that chat templates call on message fields. */
class PythonMethodsTest {
  @Test
  void startswithAndEndswithIncludingTuples() {
    assertEquals("True True False True", render("{{ s.startswith('<tool') }} {{ s.endswith('>') }} "
        + "{{ s.startswith('x') }} {{ s.endswith(('a', '>')) }}", "s", "<tool_response>"));
  }

  @Test
  void splitVariantsMatchPython() {
    assertEquals("['a', 'b', 'c'] ['a', 'b,c'] ['a b', 'c'] ['x', 'y']", render("{{ '  a b  c '.split() }} "
        + "{{ 'a,b,c'.split(',', 1) }} {{ 'a b c'.rsplit(' ', 1) }} {{ 'x\\ny\\n'.splitlines() }}"));
  }

  @Test
  void qwenThinkExtractionIdiom() {
    String content = "<think>\nreason\n</think>\n\nanswer";
    assertEquals("[reason]|[answer]", render("[{{ c.split('</think>')[0].rstrip('\\n').split('<think>')[-1].lstrip('\\n') }}]|"
        + "[{{ c.split('</think>')[-1].lstrip('\\n') }}]", "c", content));
  }

  @Test
  void stripFamilyUsesPythonWhitespaceAndOptionalChars() {
    assertEquals("[a]|[b  ]|[  c]|[d]", render("[{{ '\\u00a0a\\u3000'.strip() }}]|[{{ '  b  '.lstrip() }}]|"
        + "[{{ '  c  '.rstrip() }}]|[{{ 'xxdxx'.strip('x') }}]"));
  }

  @Test
  void caseAndReplaceAndSearch() {
    assertEquals("AB ab They'Re Bill'S Abc a-b 2 -1 2 x,y", render("{{ 'ab'.upper() }} {{ 'AB'.lower() }} "
        + "{{ \"they're bill's\".title() }} {{ 'aBC'.capitalize() }} {{ 'a b'.replace(' ', '-') }} "
        + "{{ 'abc'.find('c') }} {{ 'abc'.find('z') }} {{ 'aXbXc'.count('X') }} {{ ','.join(['x', 'y']) }}"));
  }

  @Test
  void formatWithPositionalAndNamedFields() {
    assertEquals("1 + two|x'x'|  3.14|{}", render("{{ '{} + {name}'.format(1, name='two') }}|"
        + "{{ '{0}{0!r}'.format('x') }}|{{ '{:>6.2f}'.format(3.14159) }}|{{ '{{}}'.format() }}"));
  }

  @Test
  void dictMethods() {
    assertEquals("1 None d ['a', 'b'] [1, 2] dict_items([('a', 1), ('b', 2)])", render("{{ d.get('a') }} "
        + "{{ d.get('z') }} {{ d.get('z', 'd') }} {{ d.keys()|list }} {{ d.values()|list }} {{ d.items() }}",
        "d", dict("a", 1, "b", 2)));
  }

  @Test
  void printfStyleFormatting() {
    assertEquals("a-3 50% 2.67", render("{{ '%s-%d' % ('a', 3) }} {{ '%d%%' % 50 }} {{ '%.2f' % 2.675 }}"));
  }
}
