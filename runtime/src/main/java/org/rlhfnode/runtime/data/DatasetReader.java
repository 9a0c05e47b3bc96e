package org.rlhfnode.runtime.data;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Reader;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * Reads dataset records: {@code .jsonl} files (one JSON object per line, blank lines skipped) and
 * {@code .json} files (one array of objects). A path may be a directory, read as every such file
 * below it in name order. Anything unreadable stops with a {@link DataFormatException} saying
 * {@code file:line: what is wrong}.
 */
public final class DatasetReader {
  /** Streams the objects of a .json array; a repeated key is an error, never a silent overwrite. */
  private static final ObjectMapper MAPPER = new ObjectMapper()
      .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
  /** Parses one .jsonl line: additionally, anything after the object is an error. */
  private static final ObjectMapper LINE_MAPPER = MAPPER.copy()
      .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

  private DatasetReader() {}

  /** Every record of one source: a file, or a directory of {@code .json}/{@code .jsonl} files. */
  public static List<JsonRecord> read(Path source) {
    List<JsonRecord> records = new ArrayList<>();
    for (Path file : files(source)) {
      records.addAll(readFile(file));
    }
    return records;
  }

  /** The records of each comma-separated path of {@code paths}, one list per source. */
  public static List<List<JsonRecord>> readAll(List<String> paths) {
    List<List<JsonRecord>> sources = new ArrayList<>(paths.size());
    for (String p : paths) {
      sources.add(read(Path.of(p)));
    }
    return sources;
  }

  static List<Path> files(Path source) {
    if (Files.isRegularFile(source)) {
      requireSupported(source);
      return List.of(source);
    }
    if (!Files.isDirectory(source)) {
      throw new DataFormatException(source, 0, "dataset path does not exist");
    }
    try (Stream<Path> walk = Files.walk(source)) {
      List<Path> files = walk.filter(Files::isRegularFile).filter(DatasetReader::supported).sorted().toList();
      if (files.isEmpty()) {
        throw new DataFormatException(source, 0, "directory holds no .json or .jsonl files");
      }
      return files;
    } catch (IOException e) {
      throw new DataFormatException(source, 0, "cannot list directory: " + e.getMessage(), e);
    }
  }

  /** The records of one {@code .jsonl} or {@code .json} file. */
  public static List<JsonRecord> readFile(Path file) {
    requireSupported(file);
    return extension(file).equals("jsonl") ? readJsonLines(file) : readJsonArray(file);
  }

  private static boolean supported(Path file) {
    String ext = extension(file);
    return ext.equals("jsonl") || ext.equals("json");
  }

  private static void requireSupported(Path file) {
    if (!supported(file)) {
      throw new DataFormatException(file, 0, "unsupported file type (expected .jsonl or .json)");
    }
  }

  private static String extension(Path file) {
    String name = file.getFileName().toString();
    int dot = name.lastIndexOf('.');
    return dot < 0 ? "" : name.substring(dot + 1).toLowerCase(Locale.ROOT);
  }

  private static List<JsonRecord> readJsonLines(Path file) {
    List<JsonRecord> records = new ArrayList<>();
    int lineNo = 0;
    try (BufferedReader in = new BufferedReader(strictUtf8(file))) {
      for (String line = in.readLine(); line != null; line = in.readLine()) {
        lineNo++;
        if (lineNo == 1 && line.startsWith("\uFEFF")) {
          line = line.substring(1);
        }
        if (!line.isBlank()) {
          records.add(new JsonRecord(file, lineNo, parseObject(file, lineNo, line)));
        }
      }
    } catch (CharacterCodingException e) {
      throw new DataFormatException(file, lineNo + 1, "not valid UTF-8", e);
    } catch (IOException e) {
      throw new DataFormatException(file, 0, "cannot read: " + e.getMessage(), e);
    }
    return records;
  }

  private static ObjectNode parseObject(Path file, int lineNo, String line) {
    JsonNode node;
    try {
      node = LINE_MAPPER.readTree(line);
    } catch (JsonProcessingException e) {
      throw new DataFormatException(file, lineNo, "bad JSON: " + describe(e), e);
    }
    if (!node.isObject()) {
      throw new DataFormatException(file, lineNo, "expected a JSON object, got " + node.getNodeType()
          .name().toLowerCase(Locale.ROOT));
    }
    return (ObjectNode) node;
  }

  private static List<JsonRecord> readJsonArray(Path file) {
    List<JsonRecord> records = new ArrayList<>();
    try (Reader reader = strictUtf8(file); JsonParser parser = MAPPER.createParser(reader)) {
      if (parser.nextToken() != JsonToken.START_ARRAY) {
        throw new DataFormatException(file, line(parser), "a .json dataset must be one array of objects");
      }
      for (JsonToken t = parser.nextToken(); t != JsonToken.END_ARRAY; t = parser.nextToken()) {
        int lineNo = line(parser);
        if (t != JsonToken.START_OBJECT) {
          throw new DataFormatException(file, lineNo, "expected a JSON object in the array, got " + kind(t));
        }
        records.add(new JsonRecord(file, lineNo, parser.readValueAsTree()));
      }
      if (parser.nextToken() != null) {
        throw new DataFormatException(file, line(parser), "unexpected content after the array");
      }
    } catch (JsonProcessingException e) {
      int at = e.getLocation() == null ? 0 : e.getLocation().getLineNr();
      throw new DataFormatException(file, at, "bad JSON: " + describe(e), e);
    } catch (CharacterCodingException e) {
      throw new DataFormatException(file, 0, "not valid UTF-8", e);
    } catch (IOException e) {
      throw new DataFormatException(file, 0, "cannot read: " + e.getMessage(), e);
    }
    return records;
  }

  private static String kind(JsonToken t) {
    if (t == JsonToken.START_ARRAY) {
      return "array";
    }
    if (t == JsonToken.VALUE_STRING) {
      return "string";
    }
    if (t.isNumeric()) {
      return "number";
    }
    return t.isBoolean() ? "boolean" : String.valueOf(t.asString());
  }

  private static int line(JsonParser parser) {
    return parser.currentTokenLocation().getLineNr();
  }

  private static Reader strictUtf8(Path file) throws IOException {
    return new InputStreamReader(Files.newInputStream(file), StandardCharsets.UTF_8.newDecoder()
        .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT));
  }

  /** Jackson's message without its source excerpt. */
  private static String describe(JsonProcessingException e) {
    String msg = e.getOriginalMessage();
    int nl = msg.indexOf('\n');
    return nl < 0 ? msg : msg.substring(0, nl);
  }
}
