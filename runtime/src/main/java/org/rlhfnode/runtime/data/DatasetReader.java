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

/**
 * Reads dataset records: {@code .jsonl} files (one JSON object per line, blank lines skipped),
 * {@code .json} files (one array of objects), {@code .parquet} files ({@link ParquetRecords}) and
 * {@code .csv} files with a header row ({@link CsvRecords}); every format yields the same
 * {@link JsonRecord}s, so the {@code *_key} options work on all of them. A source is a file, a
 * directory of such files or a dataset in the local HuggingFace hub cache, and a split name picks
 * the files of one split ({@link DatasetSource}). Anything unreadable stops with a
 * {@link DataFormatException} saying {@code file:line: what is wrong} (for Parquet the number is the
 * row, counted from 1; for CSV the line the row starts on).
 */
public final class DatasetReader {
  /** Streams the objects of a .json array; a repeated key is an error, never a silent overwrite. */
  private static final ObjectMapper MAPPER = new ObjectMapper()
      .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
  /** Parses one .jsonl line: additionally, anything after the object is an error. */
  private static final ObjectMapper LINE_MAPPER = MAPPER.copy()
      .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

  private DatasetReader() {}

  /** Every record of split {@code train} of a local file or directory. */
  public static List<JsonRecord> read(Path source) {
    if (!Files.exists(source)) {
      throw new DataFormatException(source, 0, "dataset path does not exist");
    }
    return read(source.toString(), "train");
  }

  /** Every record of split {@code split} of one source: a file, a directory or a hub dataset name. */
  public static List<JsonRecord> read(String source, String split) {
    List<JsonRecord> records = new ArrayList<>();
    for (Path file : DatasetSource.files(source, split)) {
      records.addAll(readFile(file));
    }
    return records;
  }

  /** The records of split {@code train} of each of {@code sources}, one list per source. */
  public static List<List<JsonRecord>> readAll(List<String> sources) {
    return readAll(sources, "train");
  }

  /** The records of split {@code split} of each of {@code sources}, one list per source. */
  public static List<List<JsonRecord>> readAll(List<String> sources, String split) {
    List<List<JsonRecord>> out = new ArrayList<>(sources.size());
    for (String source : sources) {
      out.add(read(source, split));
    }
    return out;
  }

  /** The training sources of {@code options}: split {@code dataset_split} of each {@code dataset} entry. */
  public static List<List<JsonRecord>> readTrain(DataOptions options) {
    return readAll(options.datasetPaths(), options.datasetSplit());
  }

  /**
   * The eval sources of {@code options}: {@code eval_dataset} at split {@code eval_split} (default
   * {@code train}, as OpenRLHF); without an eval dataset, split {@code eval_split} of the training
   * sources when it is a name; otherwise none (the eval set is then a held-out fraction, or empty).
   */
  public static List<List<JsonRecord>> readEval(DataOptions options) {
    if (options.evalDataset() != null) {
      String split = options.evalSplitName() == null ? "train" : options.evalSplitName();
      return readAll(options.evalDatasetPaths(), split);
    }
    return options.evalSplitName() == null ? List.of() : readAll(options.datasetPaths(), options.evalSplitName());
  }

  /** The records of one {@code .jsonl}, {@code .json}, {@code .parquet} or {@code .csv} file. */
  public static List<JsonRecord> readFile(Path file) {
    switch (DataFiles.extension(file)) {
      case "jsonl": return readJsonLines(file);
      case "json": return readJsonArray(file);
      case "parquet": return ParquetRecords.read(file);
      case "csv": return CsvRecords.read(file);
      default:
        throw new DataFormatException(file, 0, DataFiles.UNSUPPORTED);
    }
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

  static Reader strictUtf8(Path file) throws IOException {
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
