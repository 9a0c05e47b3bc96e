package org.rlhfnode.runtime.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.parquet.ParquetReadOptions;
import org.apache.parquet.column.page.PageReadStore;
import org.apache.parquet.conf.PlainParquetConfiguration;
import org.apache.parquet.example.data.Group;
import org.apache.parquet.example.data.simple.convert.GroupRecordConverter;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.io.ColumnIOFactory;
import org.apache.parquet.io.LocalInputFile;
import org.apache.parquet.io.MessageColumnIO;
import org.apache.parquet.io.RecordReader;
import org.apache.parquet.schema.GroupType;
import org.apache.parquet.schema.LogicalTypeAnnotation;
import org.apache.parquet.schema.LogicalTypeAnnotation.DecimalLogicalTypeAnnotation;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.PrimitiveType;
import org.apache.parquet.schema.Type;

/**
 * Reads a {@code .parquet} dataset file into records, one per row, as pyarrow/{@code datasets} would
 * turn the row into a Python dict: strings (and enums, JSON text) become strings, integers and floats
 * numbers (decimals exact), booleans booleans, lists ({@code LIST}) arrays, structs objects, maps
 * objects keyed by the map key's text, a missing optional value null, other binary data bytes. So a
 * {@code list<struct<role, content>>} column is a chat message list. Reads with parquet-hadoop's
 * file reader on a local file ({@code LocalInputFile}, no Hadoop file system) and {@link ParquetCodecs};
 * a record's line number is its row, from 1. An unreadable file is one error naming it.
 */
final class ParquetRecords {
  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

  private ParquetRecords() {}

  static List<JsonRecord> read(Path file) {
    List<JsonRecord> records = new ArrayList<>();
    ParquetReadOptions options = ParquetReadOptions.builder(new PlainParquetConfiguration())
        .withCodecFactory(new ParquetCodecs()).build();
    try (ParquetFileReader reader = ParquetFileReader.open(new LocalInputFile(file), options)) {
      MessageType schema = reader.getFooter().getFileMetaData().getSchema();
      MessageColumnIO columns = new ColumnIOFactory().getColumnIO(schema);
      for (PageReadStore pages = reader.readNextRowGroup(); pages != null; pages = reader.readNextRowGroup()) {
        try (PageReadStore rowGroup = pages) {
          RecordReader<Group> rows = columns.getRecordReader(rowGroup, new GroupRecordConverter(schema));
          for (long r = 0; r < rowGroup.getRowCount(); r++) {
            int row = records.size() + 1;
            records.add(new JsonRecord(file, row, object(rows.read(), schema)));
          }
        }
      }
    } catch (Exception e) {
      throw new DataFormatException(file, records.isEmpty() ? 0 : records.size() + 1,
          "cannot read Parquet: " + reason(e), e);
    }
    return records;
  }

  /** The message of the codec refusal if there is one in the chain, else of the innermost cause. */
  private static String reason(Throwable e) {
    Throwable t = e;
    for (Throwable c = e; c != null; c = c.getCause()) {
      if (c instanceof ParquetCodecs.UnsupportedCodecException) {
        return c.getMessage();
      }
      if (c.getMessage() != null) {
        t = c;
      }
    }
    String msg = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
    int nl = msg.indexOf('\n');
    return nl < 0 ? msg : msg.substring(0, nl);
  }

  private static ObjectNode object(Group g, GroupType type) {
    ObjectNode o = NODES.objectNode();
    for (int i = 0; i < type.getFieldCount(); i++) {
      Type field = type.getType(i);
      o.set(field.getName(), field(g, i, field));
    }
    return o;
  }

  /** Field {@code i} of {@code g}: a repeated field (an unannotated list) is an array; an absent one null. */
  private static JsonNode field(Group g, int i, Type type) {
    int n = g.getFieldRepetitionCount(i);
    if (type.isRepetition(Type.Repetition.REPEATED)) {
      ArrayNode values = NODES.arrayNode(n);
      for (int j = 0; j < n; j++) {
        values.add(value(g, i, j, type));
      }
      return values;
    }
    return n == 0 ? NODES.nullNode() : value(g, i, 0, type);
  }

  private static JsonNode value(Group g, int i, int j, Type type) {
    if (type.isPrimitive()) {
      return primitive(g, i, j, type.asPrimitiveType());
    }
    Group child = g.getGroup(i, j);
    GroupType group = type.asGroupType();
    LogicalTypeAnnotation a = group.getLogicalTypeAnnotation();
    if (a instanceof LogicalTypeAnnotation.ListLogicalTypeAnnotation) {
      return list(child, group);
    }
    if (a instanceof LogicalTypeAnnotation.MapLogicalTypeAnnotation
        || a instanceof LogicalTypeAnnotation.MapKeyValueTypeAnnotation) {
      return map(child, group);
    }
    return object(child, group);
  }

  /**
   * A {@code LIST} group: {@code repeated group list { element }} (three levels, what pyarrow writes),
   * or, from older writers, a repeated primitive or a repeated struct that is itself the element.
   */
  private static ArrayNode list(Group list, GroupType type) {
    Type repeated = type.getType(0);
    int n = list.getFieldRepetitionCount(0);
    ArrayNode out = NODES.arrayNode(n);
    for (int j = 0; j < n; j++) {
      if (repeated.isPrimitive()) {
        out.add(primitive(list, 0, j, repeated.asPrimitiveType()));
        continue;
      }
      GroupType inner = repeated.asGroupType();
      Group entry = list.getGroup(0, j);
      boolean wrapper = inner.getFieldCount() == 1 && !inner.getName().equals("array")
          && !inner.getName().equals(type.getName() + "_tuple");
      out.add(wrapper ? field(entry, 0, inner.getType(0)) : object(entry, inner));
    }
    return out;
  }

  /** A {@code MAP} group: {@code repeated group key_value { key; value }} as an object keyed by the key's text. */
  private static ObjectNode map(Group map, GroupType type) {
    GroupType entries = type.getType(0).asGroupType();
    ObjectNode out = NODES.objectNode();
    for (int j = 0; j < map.getFieldRepetitionCount(0); j++) {
      Group entry = map.getGroup(0, j);
      JsonNode key = field(entry, 0, entries.getType(0));
      JsonNode value = entries.getFieldCount() > 1 ? field(entry, 1, entries.getType(1)) : NODES.nullNode();
      out.set(key.isTextual() ? key.asText() : key.toString(), value);
    }
    return out;
  }

  private static JsonNode primitive(Group g, int i, int j, PrimitiveType type) {
    LogicalTypeAnnotation a = type.getLogicalTypeAnnotation();
    int scale = a instanceof DecimalLogicalTypeAnnotation d ? d.getScale() : -1;
    switch (type.getPrimitiveTypeName()) {
      case BOOLEAN: return NODES.booleanNode(g.getBoolean(i, j));
      case INT32: return scale >= 0 ? NODES.numberNode(BigDecimal.valueOf(g.getInteger(i, j), scale))
          : NODES.numberNode(g.getInteger(i, j));
      case INT64: return scale >= 0 ? NODES.numberNode(BigDecimal.valueOf(g.getLong(i, j), scale))
          : NODES.numberNode(g.getLong(i, j));
      case FLOAT: return NODES.numberNode(g.getFloat(i, j));
      case DOUBLE: return NODES.numberNode(g.getDouble(i, j));
      case INT96: return NODES.binaryNode(g.getInt96(i, j).getBytes());
      default: break; // BINARY and FIXED_LEN_BYTE_ARRAY
    }
    if (scale >= 0) {
      return NODES.numberNode(new BigDecimal(new BigInteger(g.getBinary(i, j).getBytes()), scale));
    }
    if (a instanceof LogicalTypeAnnotation.StringLogicalTypeAnnotation
        || a instanceof LogicalTypeAnnotation.EnumLogicalTypeAnnotation
        || a instanceof LogicalTypeAnnotation.JsonLogicalTypeAnnotation) {
      return NODES.textNode(g.getString(i, j));
    }
    return NODES.binaryNode(g.getBinary(i, j).getBytes());
  }
}
