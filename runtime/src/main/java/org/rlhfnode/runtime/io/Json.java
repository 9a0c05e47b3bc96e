package org.rlhfnode.runtime.io;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.io.JsonStringEncoder;
import com.fasterxml.jackson.databind.ObjectMapper;

/** The JSON settings shared by the safetensors header and the shard index: strict and one-line errors. */
final class Json {
  /** Rejects duplicate keys at any depth, so a second "dtype" or a repeated weight_map entry cannot silently win. */
  static final ObjectMapper MAPPER = new ObjectMapper().enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

  private Json() {}

  /** Jackson's own message without its multi-line source excerpt, plus the line and column. */
  static String describe(JsonProcessingException e) {
    JsonLocation at = e.getLocation();
    String where = at == null ? "" : " (line " + at.getLineNr() + ", column " + at.getColumnNr() + ")";
    // Jackson embeds "[Source: REDACTED (...); line: 1, column: 6]" in some messages; keep only the position.
    return e.getOriginalMessage().replaceAll("\\[Source: [^;\\]]*; ", "[") + where;
  }

  /** A JSON string literal, quotes included. */
  static String quote(String s) {
    return "\"" + new String(JsonStringEncoder.getInstance().quoteAsString(s)) + "\"";
  }
}
