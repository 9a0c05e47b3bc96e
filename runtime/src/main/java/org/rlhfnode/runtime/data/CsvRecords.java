package org.rlhfnode.runtime.data;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.csv.CsvMapper;
import com.fasterxml.jackson.dataformat.csv.CsvParser;
import com.fasterxml.jackson.dataformat.csv.CsvSchema;
import java.io.IOException;
import java.io.Reader;
import java.nio.charset.CharacterCodingException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Reads a {@code .csv} dataset file (RFC 4180: comma-separated, fields in double quotes may hold
 * commas, newlines and doubled quotes) into records, as {@code datasets}' CSV loader (pandas) would:
 * the first row names the columns (an empty name becomes {@code Unnamed: <index>}, as pandas writes an
 * index column), blank lines are skipped, an empty field is null, and a column whose values are all
 * integers, all numbers or all {@code True}/{@code False} holds numbers or booleans; any other column
 * holds strings. A row with more or fewer fields than the header, a repeated column name, a quote left
 * open or invalid UTF-8 is an error naming the file and the line the row starts on.
 */
final class CsvRecords {
  private static final CsvMapper MAPPER = new CsvMapper();
  private static final Pattern INTEGER = Pattern.compile("[+-]?\\d{1,18}");
  private static final Pattern NUMBER = Pattern.compile("[+-]?(\\d+\\.?\\d*|\\.\\d+)([eE][+-]?\\d+)?");
  private static final Set<String> BOOLEANS = Set.of("True", "False", "TRUE", "FALSE", "true", "false");

  private enum Kind { INTEGER, NUMBER, BOOLEAN, TEXT }

  private record Row(int line, String[] fields) {}

  private CsvRecords() {}

  static List<JsonRecord> read(Path file) {
    List<Row> rows = rows(file);
    if (rows.isEmpty()) {
      throw new DataFormatException(file, 0, "a .csv dataset needs a header row naming its columns");
    }
    String[] header = header(file, rows.get(0));
    List<Row> data = rows.subList(1, rows.size());
    for (Row row : data) {
      if (row.fields().length != header.length) {
        throw new DataFormatException(file, row.line(), "row has " + row.fields().length + " field(s), the header "
            + header.length);
      }
    }
    Kind[] kinds = new Kind[header.length];
    for (int c = 0; c < header.length; c++) {
      kinds[c] = kind(data, c);
    }
    List<JsonRecord> records = new ArrayList<>(data.size());
    for (Row row : data) {
      ObjectNode fields = JsonNodeFactory.instance.objectNode();
      for (int c = 0; c < header.length; c++) {
        put(fields, header[c], row.fields()[c], kinds[c]);
      }
      records.add(new JsonRecord(file, row.line(), fields));
    }
    return records;
  }

  /** Every non-blank row with the line it starts on. */
  private static List<Row> rows(Path file) {
    List<Row> rows = new ArrayList<>();
    int line = 1;
    try (Reader in = DatasetReader.strictUtf8(file);
        MappingIterator<String[]> it = MAPPER.readerFor(String[].class).with(CsvParser.Feature.WRAP_AS_ARRAY)
            .with(CsvSchema.emptySchema()).readValues(in)) {
      while (true) {
        line = it.getParser().currentLocation().getLineNr();
        if (!it.hasNextValue()) {
          return rows;
        }
        String[] fields = it.nextValue();
        boolean blank = fields.length == 0 || (fields.length == 1 && fields[0].isEmpty());
        if (!blank) {
          rows.add(new Row(line, fields));
        }
      }
    } catch (CharacterCodingException e) {
      throw new DataFormatException(file, 0, "not valid UTF-8", e);
    } catch (IOException | RuntimeException e) {
      throw new DataFormatException(file, line, "bad CSV: " + firstLine(e), e);
    }
  }

  private static String[] header(Path file, Row row) {
    String[] names = row.fields().clone();
    Set<String> seen = new HashSet<>();
    for (int c = 0; c < names.length; c++) {
      String name = c == 0 && names[c].startsWith("\uFEFF") ? names[c].substring(1) : names[c];
      names[c] = name.isEmpty() ? "Unnamed: " + c : name;
      if (!seen.add(names[c])) {
        throw new DataFormatException(file, row.line(), "column '" + names[c] + "' appears twice in the header");
      }
    }
    return names;
  }

  /** The narrowest kind every non-empty value of column {@code c} fits, as pandas infers a dtype. */
  private static Kind kind(List<Row> rows, int c) {
    boolean integer = true;
    boolean number = true;
    boolean bool = true;
    for (Row row : rows) {
      String v = row.fields()[c];
      if (v.isEmpty()) {
        continue;
      }
      integer &= INTEGER.matcher(v).matches();
      number &= NUMBER.matcher(v).matches();
      bool &= BOOLEANS.contains(v);
    }
    return integer ? Kind.INTEGER : number ? Kind.NUMBER : bool ? Kind.BOOLEAN : Kind.TEXT;
  }

  private static void put(ObjectNode fields, String name, String value, Kind kind) {
    if (value.isEmpty()) {
      fields.putNull(name);
      return;
    }
    switch (kind) {
      case INTEGER: fields.put(name, Long.parseLong(value)); break;
      case NUMBER: fields.put(name, Double.parseDouble(value)); break;
      case BOOLEAN: fields.put(name, Boolean.parseBoolean(value)); break;
      default: fields.put(name, value);
    }
  }

  private static String firstLine(Exception e) {
    String msg = e instanceof JsonProcessingException j ? j.getOriginalMessage() : e.getMessage();
    msg = msg == null ? e.getClass().getSimpleName() : msg;
    int nl = msg.indexOf('\n');
    return nl < 0 ? msg : msg.substring(0, nl);
  }
}
