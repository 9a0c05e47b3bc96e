package org.rlhfnode.runtime.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Renders every case of the Qwen3 fixture and compares with Python jinja2's output byte for byte. */
class Qwen3ChatTemplateFixtureTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @SuppressWarnings("unchecked")
  private static List<Map<String, Object>> readCases() throws IOException {
    Map<String, Object> file = JSON.readValue(Fixtures.qwen3().resolve("chat_template_cases.json").toFile(),
        new TypeReference<Map<String, Object>>() {});
    return (List<Map<String, Object>>) file.get("cases");
  }

  static Stream<Arguments> cases() throws IOException {
    return readCases().stream().map(c -> Arguments.of(c.get("name"), c));
  }

  @Test
  void fixtureHasCases() throws IOException {
    assertFalse(readCases().isEmpty());
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  @SuppressWarnings("unchecked")
  void rendersFixtureCaseExactly(String name, Map<String, Object> testCase) {
    Map<String, Object> extra = new LinkedHashMap<>();
    for (String key : List.of("tools", "enable_thinking")) {
      if (testCase.containsKey(key)) {
        extra.put(key, testCase.get(key));
      }
    }
    String rendered = qwen3Template().render((List<Map<String, Object>>) testCase.get("messages"),
        (Boolean) testCase.get("add_generation_prompt"), extra);
    assertEquals(testCase.get("rendered"), rendered, name);
  }

  /** The template and special tokens exactly as HfTokenizer reads them, without the native tokenizer. */
  private static ChatTemplate qwen3Template() {
    TokenizerSettings settings = TokenizerSettings.load(Fixtures.qwen3(), JSON);
    return ChatTemplate.compile(settings.chatTemplates().get("default"), settings.specialTokens());
  }
}
