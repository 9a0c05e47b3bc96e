package org.rlhfnode.runtime.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;
import org.apache.parquet.compression.CompressionCodecFactory;
import org.apache.parquet.conf.PlainParquetConfiguration;
import org.apache.parquet.example.data.Group;
import org.apache.parquet.example.data.simple.SimpleGroupFactory;
import org.apache.parquet.hadoop.ParquetWriter;
import org.apache.parquet.hadoop.example.ExampleParquetWriter;
import org.apache.parquet.hadoop.metadata.CompressionCodecName;
import org.apache.parquet.io.LocalOutputFile;
import org.apache.parquet.schema.GroupType;
import org.apache.parquet.schema.LogicalTypeAnnotation;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.MessageTypeParser;
import org.apache.parquet.schema.Type;

/**
 * Writes Parquet test files with parquet-hadoop itself, from JSON rows, laid out as pyarrow writes
 * them: strings as {@code binary (STRING)}, lists as three-level {@code LIST} groups
 * ({@code repeated group list { element }}), structs as groups, a missing or null value left out.
 */
final class ParquetFixtures {
  /** input, output, a chat message list, a label, a margin and a count, all optional (pyarrow's nullable). */
  static final MessageType SCHEMA = MessageTypeParser.parseMessageType("message schema {"
      + " optional binary input (STRING); optional binary output (STRING);"
      + " optional group messages (LIST) { repeated group list { optional group element {"
      + "   optional binary role (STRING); optional binary content (STRING); } } }"
      + " optional boolean label; optional double margin; optional int32 n; }");

  private ParquetFixtures() {}

  /** Writes {@code rows} to {@code file} with {@code codec}, starting a new row group every few rows. */
  static Path write(Path file, MessageType schema, List<ObjectNode> rows, CompressionCodecName codec) {
    return write(file, schema, rows, codec, new ParquetCodecs());
  }

  /** As {@link #write(Path, MessageType, List, CompressionCodecName)} with the page codecs {@code codecs}. */
  static Path write(Path file, MessageType schema, List<ObjectNode> rows, CompressionCodecName codec,
      CompressionCodecFactory codecs) {
    SimpleGroupFactory groups = new SimpleGroupFactory(schema);
    try (ParquetWriter<Group> writer = ExampleParquetWriter.builder(new LocalOutputFile(file))
        .withConf(new PlainParquetConfiguration()).withCodecFactory(codecs).withCompressionCodec(codec)
        .withType(schema).withRowGroupSize(1024L).withPageSize(256).build()) {
      for (ObjectNode row : rows) {
        Group g = groups.newGroup();
        fill(g, schema, row);
        writer.write(g);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return file;
  }

  private static void fill(Group g, GroupType type, JsonNode row) {
    for (Type field : type.getFields()) {
      JsonNode v = row.get(field.getName());
      if (v == null || v.isNull()) {
        continue;
      }
      if (field.isPrimitive()) {
        append(g, field, v);
      } else if (field.getLogicalTypeAnnotation() instanceof LogicalTypeAnnotation.ListLogicalTypeAnnotation) {
        Group list = g.addGroup(field.getName());
        Type element = field.asGroupType().getType(0).asGroupType().getType(0);
        for (JsonNode item : v) {
          Group entry = list.addGroup(0);
          if (element.isPrimitive()) {
            append(entry, element, item);
          } else {
            fill(entry.addGroup(0), element.asGroupType(), item);
          }
        }
      } else {
        fill(g.addGroup(field.getName()), field.asGroupType(), v);
      }
    }
  }

  private static void append(Group g, Type field, JsonNode v) {
    String name = field.getName();
    switch (field.asPrimitiveType().getPrimitiveTypeName()) {
      case BOOLEAN: g.append(name, v.asBoolean()); break;
      case INT32: g.append(name, v.asInt()); break;
      case INT64: g.append(name, v.asLong()); break;
      case DOUBLE: g.append(name, v.asDouble()); break;
      case FLOAT: g.append(name, (float) v.asDouble()); break;
      default: g.append(name, v.asText());
    }
  }
}
