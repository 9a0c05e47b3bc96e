package org.rlhfnode.runtime.tokenizer;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a model directory's {@code tokenizer_config.json} (and {@code chat_template.jinja},
 * {@code additional_chat_templates/*.jinja}) say beyond {@code tokenizer.json}: the special tokens,
 * {@code add_bos_token}, {@code clean_up_tokenization_spaces} and the named chat templates.
 */
record TokenizerSettings(Map<String, Object> specialTokens, Boolean addBosToken,
    boolean cleanUpTokenizationSpaces, Map<String, String> chatTemplates, Path chatTemplateSource) {

  static final String CONFIG_FILE = "tokenizer_config.json";
  static final String TEMPLATE_FILE = "chat_template.jinja";
  static final String DEFAULT_TEMPLATE = "default";
  private static final List<String> TOKEN_KEYS = List.of("bos_token", "eos_token", "unk_token", "sep_token",
      "pad_token", "cls_token", "mask_token");

  static TokenizerSettings load(Path dir, ObjectMapper json) {
    Path configFile = dir.resolve(CONFIG_FILE);
    JsonNode config = Files.isRegularFile(configFile) ? readJson(configFile, json) : json.createObjectNode();
    if (!config.isObject()) {
      throw new IllegalArgumentException(configFile + " must hold a JSON object");
    }
    Map<String, Object> tokens = new LinkedHashMap<>();
    for (String key : TOKEN_KEYS) {
      String token = tokenText(config.get(key));
      if (token != null) {
        tokens.put(key, token);
      }
    }
    JsonNode additional = config.get("additional_special_tokens");
    if (additional != null && additional.isArray()) {
      List<String> list = new ArrayList<>();
      additional.forEach(t -> list.add(tokenText(t)));
      tokens.put("additional_special_tokens", List.copyOf(list));
    }
    JsonNode addBos = config.get("add_bos_token");
    JsonNode cleanup = config.get("clean_up_tokenization_spaces");
    Map<String, String> templates = new LinkedHashMap<>();
    Path source = readTemplates(dir, config.get("chat_template"), configFile, templates);
    return new TokenizerSettings(Map.copyOf(tokens), addBos != null && addBos.isBoolean() ? addBos.booleanValue() : null,
        cleanup != null && cleanup.asBoolean(false), Map.copyOf(templates), source);
  }

  /** A special token is either a plain string or an AddedToken object {@code {"content": ...}}. */
  private static String tokenText(JsonNode node) {
    if (node == null || node.isNull()) {
      return null;
    }
    if (node.isObject()) {
      JsonNode content = node.get("content");
      return content != null && content.isTextual() ? content.textValue() : null;
    }
    return node.isTextual() ? node.textValue() : null;
  }

  /** Collects named templates; returns the file the default template came from (null if none). */
  private static Path readTemplates(Path dir, JsonNode fromConfig, Path configFile, Map<String, String> out) {
    Path source = null;
    if (fromConfig != null && fromConfig.isTextual()) {
      out.put(DEFAULT_TEMPLATE, fromConfig.textValue());
      source = configFile;
    } else if (fromConfig != null && fromConfig.isArray()) {
      for (JsonNode entry : fromConfig) {
        JsonNode name = entry.get("name");
        JsonNode template = entry.get("template");
        if (name == null || !name.isTextual() || template == null || !template.isTextual()) {
          throw new IllegalArgumentException(configFile + ": chat_template entries need a 'name' and a 'template'");
        }
        out.put(name.textValue(), template.textValue());
      }
      source = out.containsKey(DEFAULT_TEMPLATE) ? configFile : null;
    }
    Path additional = dir.resolve("additional_chat_templates");
    if (Files.isDirectory(additional)) {
      try (DirectoryStream<Path> files = Files.newDirectoryStream(additional, "*.jinja")) {
        for (Path f : files) {
          String name = f.getFileName().toString();
          out.put(name.substring(0, name.length() - ".jinja".length()), readText(f));
        }
      } catch (IOException e) {
        throw new IllegalArgumentException("cannot list " + additional + ": " + e.getMessage(), e);
      }
    }
    Path jinjaFile = dir.resolve(TEMPLATE_FILE);
    if (Files.isRegularFile(jinjaFile)) {
      out.put(DEFAULT_TEMPLATE, readText(jinjaFile));
      source = jinjaFile;
    }
    return source;
  }

  static JsonNode readJson(Path file, ObjectMapper json) {
    try {
      return json.readTree(file.toFile());
    } catch (JsonProcessingException e) {
      String where = e.getLocation() == null ? ""
          : " at line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr();
      throw new IllegalArgumentException(file + " is not valid JSON" + where + ": " + e.getOriginalMessage(), e);
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot read " + file + ": " + e.getMessage(), e);
    }
  }

  private static String readText(Path file) {
    try {
      return Files.readString(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot read " + file + ": " + e.getMessage(), e);
    }
  }
}
