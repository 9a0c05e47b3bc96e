package org.rlhfnode.runtime.tokenizer.jinja;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.rlhfnode.runtime.tokenizer.jinja.Jinja.render;

import org.junit.jupiter.api.Test;

/** HF compiles chat templates with trim_blocks and lstrip_blocks; these pin down what that means. */
class WhitespaceControlTest {
  @Test
  void trimBlocksRemovesTheNewlineAfterABlockTag() {
    assertEquals("a\nb\n", render("{% if true %}\na\n{% endif %}\nb\n\n"));
  }

  @Test
  void trimBlocksDoesNotApplyToVariableTags() {
    assertEquals("x\ny", render("{{ 'x' }}\ny"));
  }

  @Test
  void lstripBlocksRemovesIndentationBeforeABlockTagOnItsOwnLine() {
    assertEquals("    x\n", render("  {% if true %}\n    x\n  {% endif %}\n"));
  }

  @Test
  void lstripBlocksKeepsIndentationWhenTextPrecedesTheTagOnTheLine() {
    assertEquals("a  b", render("a  {% if true %}b{% endif %}"));
  }

  @Test
  void lstripBlocksDoesNotStripBeforeVariableTags() {
    assertEquals("  x", render("  {{ 'x' }}"));
  }

  @Test
  void minusStripsAllWhitespaceIncludingNewlinesOnThatSide() {
    assertEquals("a|b", render("a  \n  {{- '|' -}}  \n  b"));
    assertEquals("ab", render("a\n\n{%- if true -%}\n\n  b{% endif %}"));
  }

  @Test
  void plusDisablesLstripAndTrim() {
    assertEquals("  \nx\n", render("  {%+ if true +%}\nx\n{% endif %}"));
  }

  @Test
  void commentsAreDroppedAndFollowTheSameWhitespaceRules() {
    assertEquals("a\nb", render("a\n  {# note #}\nb"));
    assertEquals("ab", render("a {#- note -#} b"));
  }

  @Test
  void rawBlocksKeepTheirContentVerbatim() {
    assertEquals("{{ x }} {% if %}", render("{% raw %}{{ x }} {% if %}{% endraw %}"));
  }

  @Test
  void exactlyOneTrailingNewlineOfTheTemplateIsDropped() {
    assertEquals("x", render("x\n"));
    assertEquals("x\n", render("x\n\n"));
  }

  @Test
  void windowsLineEndingsBecomeNewlines() {
    assertEquals("a\nb", render("a\r\n{% if true %}\r\nb{% endif %}"));
  }

  @Test
  void indentedChatTemplateLayoutRendersWithoutStrayWhitespace() {
    String template = "{%- for m in messages %}\n"
        + "    {%- if m == 'a' %}\n"
        + "        {{- '<' + m + '>' }}\n"
        + "    {%- else %}\n"
        + "        {{- m }}\n"
        + "    {%- endif %}\n"
        + "{%- endfor %}\n";
    assertEquals("<a>b", render(template, "messages", java.util.List.of("a", "b")));
  }
}
