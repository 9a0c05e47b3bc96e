package org.rlhfnode.runtime.tokenizer;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.nio.file.Path;
import java.util.BitSet;
import java.util.HashMap;
import java.util.Map;
import java.util.OptionalLong;

/**
 * Token-to-id lookup read from {@code tokenizer.json} (its added tokens and its model's vocabulary),
 * because DJL's tokenizer does not expose the vocabulary. The file is streamed so that the BPE
 * merges, most of its size, are skipped rather than held in memory.
 */
final class Vocabulary {
  private final Map<String, Integer> addedTokens;
  private final Map<String, Integer> modelVocab;
  private final int size;

  private Vocabulary(Map<String, Integer> addedTokens, Map<String, Integer> modelVocab, int size) {
    this.addedTokens = addedTokens;
    this.modelVocab = modelVocab;
    this.size = size;
  }

  /** Parses {@code file}; a file that is not valid JSON is an IllegalArgumentException naming it. */
  static Vocabulary read(Path file, JsonFactory factory) {
    Map<String, Integer> added = new HashMap<>();
    Map<String, Integer> vocab = new HashMap<>();
    try (JsonParser p = factory.createParser(file.toFile())) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        throw new IllegalArgumentException(file + " must hold a JSON object");
      }
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String field = p.currentName();
        p.nextToken();
        if (field.equals("added_tokens") && p.currentToken() == JsonToken.START_ARRAY) {
          readAddedTokens(p, added);
        } else if (field.equals("model") && p.currentToken() == JsonToken.START_OBJECT) {
          readModel(p, vocab);
        } else {
          p.skipChildren();
        }
      }
    } catch (JsonProcessingException e) {
      String where = e.getLocation() == null ? ""
          : " at line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr();
      throw new IllegalArgumentException(file + " is not valid JSON" + where + ": " + e.getOriginalMessage(), e);
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot read " + file + ": " + e.getMessage(), e);
    }
    BitSet ids = new BitSet();
    added.values().forEach(ids::set);
    vocab.values().forEach(ids::set);
    return new Vocabulary(added, vocab, ids.cardinality());
  }

  private static void readAddedTokens(JsonParser p, Map<String, Integer> out) throws IOException {
    while (p.nextToken() == JsonToken.START_OBJECT) {
      String content = null;
      Integer id = null;
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String field = p.currentName();
        p.nextToken();
        if (field.equals("content")) {
          content = p.getValueAsString();
        } else if (field.equals("id") && p.currentToken().isNumeric()) {
          id = p.getIntValue();
        } else {
          p.skipChildren();
        }
      }
      if (content != null && id != null) {
        out.put(content, id);
      }
    }
  }

  /** BPE, WordPiece and WordLevel store {@code "vocab": {token: id}}; Unigram a list of [piece, score]. */
  private static void readModel(JsonParser p, Map<String, Integer> out) throws IOException {
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String field = p.currentName();
      JsonToken value = p.nextToken();
      if (field.equals("vocab") && value == JsonToken.START_OBJECT) {
        while (p.nextToken() == JsonToken.FIELD_NAME) {
          String token = p.currentName();
          p.nextToken();
          out.put(token, p.getIntValue());
        }
      } else if (field.equals("vocab") && value == JsonToken.START_ARRAY) {
        int id = 0;
        while (p.nextToken() == JsonToken.START_ARRAY) {
          p.nextToken();
          out.put(p.getValueAsString(), id++);
          p.skipChildren();
          while (p.nextToken() != JsonToken.END_ARRAY) {
            p.skipChildren();
          }
        }
      } else {
        p.skipChildren();
      }
    }
  }

  /** HF's token_to_id: added tokens first, then the model vocabulary. */
  OptionalLong id(String token) {
    Integer id = addedTokens.get(token);
    if (id == null) {
      id = modelVocab.get(token);
    }
    return id == null ? OptionalLong.empty() : OptionalLong.of(id);
  }

  /** Distinct ids across vocabulary and added tokens, i.e. HF's {@code len(tokenizer)}. */
  int size() {
    return size;
  }
}
