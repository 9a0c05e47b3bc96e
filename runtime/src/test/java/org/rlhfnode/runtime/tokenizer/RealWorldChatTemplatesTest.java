package org.rlhfnode.runtime.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.rlhfnode.runtime.tokenizer.jinja.TemplateRaisedException;

/**
 * Templates in the style of published model templates, written out here with expected prompts
 * derived by hand from jinja2's semantics (trim_blocks, lstrip_blocks, filter precedence).
 */
class RealWorldChatTemplatesTest {
  private static final Clock JULY_26 = Clock.fixed(Instant.parse("2024-07-26T10:15:30Z"), ZoneOffset.UTC);

  private static Map<String, Object> msg(String role, Object content) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("role", role);
    m.put("content", content);
    return m;
  }

  private static Map<String, Object> map(Object... kv) {
    Map<String, Object> m = new LinkedHashMap<>();
    for (int i = 0; i < kv.length; i += 2) {
      m.put((String) kv[i], kv[i + 1]);
    }
    return m;
  }

  private static final Map<String, Object> WEATHER_TOOL = map("type", "function", "function", map(
      "name", "get_weather", "parameters", map("type", "object", "properties", map("city", map("type", "string")))));

  private static Map<String, Object> toolCall(String city) {
    return map("type", "function", "function", map("name", "get_weather", "arguments", map("city", city)));
  }

  static final String LLAMA3 = "{% set loop_messages = messages %}{% for message in loop_messages %}"
      + "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim"
      + " + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}"
      + "{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}";

  @Test
  void llama3PrependsBosToTheFirstTurnAndTrimsContent() {
    ChatTemplate t = ChatTemplate.compile(LLAMA3, Map.of("bos_token", "<|begin_of_text|>", "eos_token", "<|eot_id|>"));
    assertEquals("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are helpful.<|eot_id|>"
        + "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
        t.render(List.of(msg("system", "You are helpful."), msg("user", "  Hi \n")), true, null));
  }

  static final String LLAMA31 = """
      {{- bos_token }}
      {%- if not date_string is defined %}
          {%- set date_string = strftime_now("%d %b %Y") %}
      {%- endif %}
      {%- if messages[0]['role'] == 'system' %}
          {%- set system_message = messages[0]['content'] | trim %}
          {%- set messages = messages[1:] %}
      {%- else %}
          {%- set system_message = "" %}
      {%- endif %}
      {{- "<|start_header_id|>system<|end_header_id|>\\n\\n" }}
      {%- if tools is not none %}
          {{- "Environment: ipython\\n" }}
      {%- endif %}
      {{- "Cutting Knowledge Date: December 2023\\n" }}
      {{- "Today Date: " + date_string + "\\n\\n" }}
      {{- system_message }}
      {{- "<|eot_id|>" }}
      {%- if tools is not none %}
          {{- '<|start_header_id|>user<|end_header_id|>\\n\\n' }}
          {{- "Given the following functions, respond with a JSON function call.\\n\\n" }}
          {%- for t in tools %}
              {{- t | tojson(indent=4) }}
              {{- "\\n\\n" }}
          {%- endfor %}
          {{- messages[0]['content'] | trim + "<|eot_id|>" }}
          {%- set messages = messages[1:] %}
      {%- endif %}
      {%- for message in messages %}
          {%- if 'tool_calls' in message %}
              {%- set call = message.tool_calls[0].function %}
              {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}
              {{- '{"name": "' + call.name + '", "parameters": ' + call.arguments | tojson + '}' }}
              {{- "<|eot_id|>" }}
          {%- elif message.role == 'tool' %}
              {{- "<|start_header_id|>ipython<|end_header_id|>\\n\\n" }}
              {%- if message.content is mapping or message.content is iterable %}
                  {{- message.content | tojson }}
              {%- else %}
                  {{- message.content }}
              {%- endif %}
              {{- "<|eot_id|>" }}
          {%- else %}
              {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}
          {%- endif %}
      {%- endfor %}
      {%- if add_generation_prompt %}
          {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}
      {%- endif %}
      """;

  @Test
  void llama31DatesTheSystemPromptWithStrftimeNow() {
    ChatTemplate t = ChatTemplate.compile(LLAMA31, Map.of("bos_token", "<|begin_of_text|>")).withClock(JULY_26);
    assertEquals("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\n"
        + "Today Date: 26 Jul 2024\n\nYou are a bot.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\n"
        + "What's the weather?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
        t.render(List.of(msg("system", "You are a bot.  "), msg("user", "What's the weather?")), true, null));
  }

  @Test
  void llama31PutsToolsInTheFirstUserTurnAndJsonQuotesStringToolResults() {
    ChatTemplate t = ChatTemplate.compile(LLAMA31, Map.of("bos_token", "<|begin_of_text|>"));
    Map<String, Object> assistant = msg("assistant", null);
    assistant.put("tool_calls", List.of(toolCall("Paris")));
    String rendered = t.render(List.of(msg("user", "Weather in Paris?"), assistant, msg("tool", "{\"temp\": 21}")), true,
        Map.of("tools", List.of(WEATHER_TOOL), "date_string", "01 Jan 2025"));
    assertEquals("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nEnvironment: ipython\n"
        + "Cutting Knowledge Date: December 2023\nToday Date: 01 Jan 2025\n\n<|eot_id|>"
        + "<|start_header_id|>user<|end_header_id|>\n\nGiven the following functions, respond with a JSON function call.\n\n"
        + "{\n    \"type\": \"function\",\n    \"function\": {\n        \"name\": \"get_weather\",\n"
        + "        \"parameters\": {\n            \"type\": \"object\",\n            \"properties\": {\n"
        + "                \"city\": {\n                    \"type\": \"string\"\n                }\n            }\n"
        + "        }\n    }\n}\n\nWeather in Paris?<|eot_id|>"
        + "<|start_header_id|>assistant<|end_header_id|>\n\n{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}"
        + "<|eot_id|><|start_header_id|>ipython<|end_header_id|>\n\n\"{\\\"temp\\\": 21}\"<|eot_id|>"
        + "<|start_header_id|>assistant<|end_header_id|>\n\n", rendered);
  }

  static final String MISTRAL = "{{ bos_token }}{% for message in messages %}"
      + "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
      + "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
      + "{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}"
      + "{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token}}"
      + "{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}";

  @Test
  void mistralFormatsAlternatingTurns() {
    ChatTemplate t = ChatTemplate.compile(MISTRAL, Map.of("bos_token", "<s>", "eos_token", "</s>"));
    assertEquals("<s>[INST] Hi [/INST]Hello</s>[INST] Bye [/INST]",
        t.render(List.of(msg("user", "Hi"), msg("assistant", "Hello"), msg("user", "Bye")), false, null));
  }

  @Test
  void mistralRejectsNonAlternatingRolesWithTheTemplatesMessage() {
    ChatTemplate t = ChatTemplate.compile(MISTRAL, Map.of("bos_token", "<s>", "eos_token", "</s>"));
    TemplateRaisedException e = assertThrows(TemplateRaisedException.class,
        () -> t.render(List.of(msg("user", "Hi"), msg("user", "again")), false, null));
    assertEquals("Conversation roles must alternate user/assistant/user/assistant/...", e.templateMessage());
  }

  static final String GEMMA_LIKE = """
      {%- macro turn(role, text) -%}
      <start_of_turn>{{ role }}
      {{ text | trim }}<end_of_turn>
      {% endmacro -%}
      {{- bos_token -}}
      {%- set ns = namespace(system='', turns=0) -%}
      {%- for message in messages -%}
          {%- if message.role == 'system' -%}
              {%- set ns.system = message.content | trim ~ '\\n\\n' -%}
          {%- else -%}
              {%- if (message.role == 'user') != (ns.turns % 2 == 0) -%}
                  {{- raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') -}}
              {%- endif -%}
              {%- set role = 'model' if message.role == 'assistant' else message.role -%}
              {%- set prefix = ns.system if ns.turns == 0 else '' -%}
              {{- turn(role, prefix ~ message.content) -}}
              {%- set ns.turns = ns.turns + 1 -%}
          {%- endif -%}
      {%- endfor -%}
      {%- if add_generation_prompt -%}
      <start_of_turn>model
      {% endif -%}
      """;

  @Test
  void gemmaLikeTemplateFoldsTheSystemPromptIntoTheFirstUserTurnViaNamespace() {
    ChatTemplate t = ChatTemplate.compile(GEMMA_LIKE, Map.of("bos_token", "<bos>"));
    assertEquals("<bos><start_of_turn>user\nBe kind.\n\nHi<end_of_turn>\n<start_of_turn>model\nHello!<end_of_turn>\n"
        + "<start_of_turn>model\n",
        t.render(List.of(msg("system", " Be kind. "), msg("user", "Hi"), msg("assistant", " Hello! ")), true, null));
  }

  static final String PHI3 = "{% for message in messages %}{% if message['role'] == 'system' %}"
      + "{{'<|system|>\\n' + message['content'] + '<|end|>\\n'}}{% elif message['role'] == 'user' %}"
      + "{{'<|user|>\\n' + message['content'] + '<|end|>\\n'}}{% elif message['role'] == 'assistant' %}"
      + "{{'<|assistant|>\\n' + message['content'] + '<|end|>\\n'}}{% endif %}{% endfor %}"
      + "{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% else %}{{ eos_token }}{% endif %}";

  @Test
  void phi3EndsWithEosWhenNoGenerationPromptIsAsked() {
    ChatTemplate t = ChatTemplate.compile(PHI3, Map.of("eos_token", "<|endoftext|>"));
    assertEquals("<|system|>\nS<|end|>\n<|user|>\nU<|end|>\n<|assistant|>\nA<|end|>\n<|endoftext|>",
        t.render(List.of(msg("system", "S"), msg("user", "U"), msg("assistant", "A")), false, null));
  }

  static final String DEEPSEEK_R1_LIKE = """
      {%- if not add_generation_prompt is defined %}{% set add_generation_prompt = false %}{% endif %}
      {%- set ns = namespace(system_prompt='') %}
      {%- for message in messages %}
          {%- if message['role'] == 'system' %}{% set ns.system_prompt = message['content'] %}{% endif %}
      {%- endfor %}
      {{- bos_token }}{{ ns.system_prompt }}
      {%- for message in messages %}
          {%- if message['role'] == 'user' %}
              {{- '<｜User｜>' + message['content'] }}
          {%- elif message['role'] == 'assistant' %}
              {%- set content = message['content'] %}
              {%- if '</think>' in content %}
                  {%- set content = content.split('</think>')[-1] %}
              {%- endif %}
              {{- '<｜Assistant｜>' + content + '<｜end▁of▁sentence｜>' }}
          {%- endif %}
      {%- endfor %}
      {%- if add_generation_prompt %}
          {{- '<｜Assistant｜><think>\\n' }}
      {%- endif %}
      """;

  @Test
  void deepSeekLikeTemplateDropsReasoningFromEarlierAssistantTurns() {
    ChatTemplate t = ChatTemplate.compile(DEEPSEEK_R1_LIKE, Map.of("bos_token", "<｜begin▁of▁sentence｜>"));
    assertEquals("<｜begin▁of▁sentence｜>SYS<｜User｜>Q1<｜Assistant｜>\n\nA1<｜end▁of▁sentence｜><｜User｜>Q2"
        + "<｜Assistant｜><think>\n", t.render(List.of(msg("system", "SYS"), msg("user", "Q1"),
            msg("assistant", "<think>\nhmm\n</think>\n\nA1"), msg("user", "Q2")), true, null));
  }

  static final String CHATML_TOOLS = """
      {%- if tools %}
          {{- '<|im_start|>system\\n' }}
          {%- if messages[0]['role'] == 'system' %}
              {{- messages[0]['content'] }}
          {%- else %}
              {{- 'You are a helpful assistant.' }}
          {%- endif %}
          {{- "\\n\\n# Tools\\n\\n<tools>" }}
          {%- for tool in tools %}
              {{- "\\n" }}
              {{- tool | tojson }}
          {%- endfor %}
          {{- "\\n</tools><|im_end|>\\n" }}
      {%- elif messages[0]['role'] == 'system' %}
          {{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}
      {%- endif %}
      {%- for message in messages %}
          {%- if message.role == 'user' or (message.role == 'system' and not loop.first) or (message.role == 'assistant' and not message.tool_calls) %}
              {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' }}
          {%- elif message.role == 'assistant' %}
              {{- '<|im_start|>' + message.role }}
              {%- if message.content %}
                  {{- '\\n' + message.content }}
              {%- endif %}
              {%- for tool_call in message.tool_calls %}
                  {%- if tool_call.function is defined %}
                      {%- set tool_call = tool_call.function %}
                  {%- endif %}
                  {{- '\\n<tool_call>\\n{"name": "' + tool_call.name + '", "arguments": ' + tool_call.arguments | tojson + '}\\n</tool_call>' }}
              {%- endfor %}
              {{- '<|im_end|>\\n' }}
          {%- elif message.role == 'tool' %}
              {%- if loop.index0 == 0 or messages[loop.index0 - 1].role != 'tool' %}
                  {{- '<|im_start|>user' }}
              {%- endif %}
              {{- '\\n<tool_response>\\n' + message.content + '\\n</tool_response>' }}
              {%- if loop.last or messages[loop.index0 + 1].role != 'tool' %}
                  {{- '<|im_end|>\\n' }}
              {%- endif %}
          {%- endif %}
      {%- endfor %}
      {%- if add_generation_prompt %}
          {{- '<|im_start|>assistant\\n' }}
      {%- endif %}
      """;

  @Test
  void chatmlToolTemplateGroupsConsecutiveToolResultsIntoOneUserTurn() {
    ChatTemplate t = ChatTemplate.compile(CHATML_TOOLS, Map.of("eos_token", "<|im_end|>"));
    Map<String, Object> assistant = msg("assistant", "");
    assistant.put("tool_calls", List.of(toolCall("Paris"), toolCall("Rome")));
    String rendered = t.render(List.of(msg("user", "Weather in Paris and Rome?"), assistant,
        msg("tool", "{\"temp\": 21}"), msg("tool", "{\"temp\": 25}")), true, Map.of("tools", List.of(WEATHER_TOOL)));
    assertEquals("<|im_start|>system\nYou are a helpful assistant.\n\n# Tools\n\n<tools>\n"
        + "{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"parameters\": {\"type\": \"object\", "
        + "\"properties\": {\"city\": {\"type\": \"string\"}}}}}\n</tools><|im_end|>\n"
        + "<|im_start|>user\nWeather in Paris and Rome?<|im_end|>\n"
        + "<|im_start|>assistant\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>"
        + "\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Rome\"}}\n</tool_call><|im_end|>\n"
        + "<|im_start|>user\n<tool_response>\n{\"temp\": 21}\n</tool_response>\n<tool_response>\n{\"temp\": 25}\n"
        + "</tool_response><|im_end|>\n<|im_start|>assistant\n", rendered);
  }

  @Test
  void chatmlToolTemplateWithoutToolsUsesThePlainSystemTurn() {
    ChatTemplate t = ChatTemplate.compile(CHATML_TOOLS, Map.of());
    assertEquals("<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n",
        t.render(List.of(msg("system", "S"), msg("user", "U")), false, null));
  }

  @Test
  void toolsAndDocumentsDefaultToNoneAndUnsetSpecialTokensAreUndefined() {
    ChatTemplate t = ChatTemplate.compile("{{ tools is none }} {{ documents is defined }} {{ bos_token is defined }} "
        + "{{ eos_token }}", map("eos_token", "</s>", "bos_token", null));
    assertEquals("True True False </s>", t.render(List.of(), false, null));
  }

  @Test
  void extraContextOverridesSpecialTokensButNotMessages() {
    ChatTemplate t = ChatTemplate.compile("{{ eos_token }}{{ enable_thinking }}", Map.of("eos_token", "</s>"));
    assertEquals("<eot>False", t.render(List.of(), false, Map.of("eos_token", "<eot>", "enable_thinking", false)));
    assertThrows(IllegalArgumentException.class, () -> t.render(List.of(), false, Map.of("messages", List.of())));
  }
}
