package org.rlhfnode.runtime.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.rlhfnode.runtime.data.DataTestSupport.JSON;
import static org.rlhfnode.runtime.data.DataTestSupport.write;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.parquet.bytes.BytesInput;
import org.apache.parquet.compression.CompressionCodecFactory;
import org.apache.parquet.hadoop.metadata.CompressionCodecName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Parquet and CSV files give the records (and so the examples) the JSONL file with the same rows
 * gives; every page codec the reader claims reads back; malformed files and rows name file and row.
 */
class DatasetFormatsTest {
  /** The same three rows in every format; the last holds a chat message list instead of input/output. */
  private static final List<String> ROWS = List.of(
      "{\"input\":\"What is 2+2?\",\"output\":\"4\",\"messages\":null,\"label\":true,\"margin\":0.5,\"n\":1}",
      "{\"input\":\"Say hi, \\\"politely\\\"\\nplease\",\"output\":\"Hi.\",\"messages\":null,\"label\":false,"
          + "\"margin\":-1.25,\"n\":2}",
      "{\"input\":null,\"output\":null,\"messages\":[{\"role\":\"user\",\"content\":\"hello\"},"
          + "{\"role\":\"assistant\",\"content\":\"hey\"}],\"label\":true,\"margin\":0.0,\"n\":3}");
  private static final String CSV = String.join("\n", "input,output,messages,label,margin,n",
      "What is 2+2?,4,,True,0.5,1",
      "\"Say hi, \"\"politely\"\"", "please\",Hi.,,False,-1.25,2",
      "", // blank lines are skipped
      ",,\"[{\"\"role\"\":\"\"user\"\"}]\",True,0.0,3");

  @TempDir
  Path dir;

  private static List<ObjectNode> rows() {
    List<ObjectNode> out = new ArrayList<>();
    for (String r : ROWS) {
      try {
        out.add((ObjectNode) JSON.readTree(r));
      } catch (JsonProcessingException e) {
        throw new IllegalArgumentException(e);
      }
    }
    return out;
  }

  private static List<String> fields(List<JsonRecord> records) {
    return records.stream().map(r -> r.fields().toString()).toList();
  }

  @Test
  void parquetRowsAreTheJsonlRecords() {
    Path jsonl = write(dir, "d.jsonl", ROWS.toArray(String[]::new));
    Path parquet = ParquetFixtures.write(dir.resolve("d.parquet"), ParquetFixtures.SCHEMA, rows(),
        CompressionCodecName.SNAPPY);
    List<JsonRecord> fromParquet = DatasetReader.read(parquet);
    assertEquals(fields(DatasetReader.read(jsonl)), fields(fromParquet));
    assertEquals(List.of(1, 2, 3), fromParquet.stream().map(JsonRecord::line).toList(), "rows count from 1");
  }

  @Test
  void parquetChatListsAndTextsBuildTheSameExamplesAsJsonl() {
    Path jsonl = write(dir, "d.jsonl", ROWS.toArray(String[]::new));
    Path parquet = ParquetFixtures.write(dir.resolve("d.parquet"), ParquetFixtures.SCHEMA, rows(),
        CompressionCodecName.ZSTD);
    ExampleBuilder sft = new ExampleBuilder(DataOptions.sftBuilder().outputKey("output").maxLen(64).build(),
        DataTestSupport.charTokenizer());
    ExampleBuilder chat = new ExampleBuilder(DataOptions.builder().inputKey("messages").applyChatTemplate(true)
        .maxLen(64).build(), DataTestSupport.charTokenizer());
    List<JsonRecord> a = DatasetReader.read(jsonl);
    List<JsonRecord> b = DatasetReader.read(parquet);
    for (int i = 0; i < 2; i++) {
      assertArrayEquals(sft.sft(a.get(i)).orElseThrow().ids(), sft.sft(b.get(i)).orElseThrow().ids());
      assertArrayEquals(sft.sft(a.get(i)).orElseThrow().lossMask(), sft.sft(b.get(i)).orElseThrow().lossMask());
    }
    long[] ids = chat.sft(b.get(2)).orElseThrow().ids();
    assertTrue(new String(text(ids)).startsWith("[user]hello|[assistant]hey|"), "a list<struct> is a message list");
    assertArrayEquals(chat.sft(a.get(2)).orElseThrow().ids(), ids);
  }

  @Test
  void csvRowsAreTheJsonlRecordsForFlatColumns() {
    Path csv = write(dir, "d.csv", CSV);
    List<JsonRecord> records = DatasetReader.read(csv);
    List<String> expected = new ArrayList<>();
    for (ObjectNode row : rows()) {
      row.put("messages", row.get("messages").isNull() ? null : "[{\"role\":\"user\"}]"); // CSV holds text
      expected.add(row.toString());
    }
    assertEquals(expected, fields(records));
    assertEquals(List.of(2, 3, 6), records.stream().map(JsonRecord::line).toList(), "the line each row starts on");
  }

  @Test
  void everyReadableCodecRoundTripsAcrossRowGroups() throws IOException {
    List<ObjectNode> many = new ArrayList<>();
    for (int i = 0; i < 300; i++) {
      many.add(JSON.createObjectNode().put("input", "prompt number " + i).put("n", i));
    }
    for (CompressionCodecName codec : List.of(CompressionCodecName.UNCOMPRESSED, CompressionCodecName.SNAPPY,
        CompressionCodecName.ZSTD, CompressionCodecName.GZIP, CompressionCodecName.LZ4_RAW)) {
      Path f = ParquetFixtures.write(dir.resolve(codec + ".parquet"), ParquetFixtures.SCHEMA, many, codec);
      List<JsonRecord> back = DatasetReader.read(f);
      assertEquals(300, back.size(), codec.name());
      assertEquals("prompt number 299", back.get(299).text("input", "input_key"), codec.name());
      assertEquals(300, back.get(299).line(), codec.name());
      assertTrue(rowGroups(f) > 1, codec + ": the file should span several row groups");
    }
  }

  @Test
  void aCodecTheReaderLacksIsNamed() {
    Path f = ParquetFixtures.write(dir.resolve("b.parquet"), ParquetFixtures.SCHEMA, rows(),
        CompressionCodecName.BROTLI, new MislabelledCodecs());
    DataFormatException e = assertThrows(DataFormatException.class, () -> DatasetReader.read(f));
    assertEquals(f + ": cannot read Parquet: compressed with BROTLI, which rlhf-node does not read (it reads "
        + "SNAPPY, ZSTD, GZIP, LZ4_RAW and UNCOMPRESSED); rewrite the file, e.g. "
        + "pyarrow.parquet.write_table(table, path, compression='zstd')", e.getMessage());
  }

  @Test
  void aFileThatIsNotParquetIsOneError() throws IOException {
    Path f = Files.writeString(dir.resolve("x.parquet"), "{\"input\": \"not parquet\"}\n");
    DataFormatException e = assertThrows(DataFormatException.class, () -> DatasetReader.read(f));
    assertTrue(e.getMessage().startsWith(f + ": cannot read Parquet: "), e.getMessage());
    assertEquals(0, e.line());
  }

  @Test
  void malformedCsvNamesTheFileAndTheLineTheRowStartsOn() {
    Path wide = write(dir, "wide.csv", "input,output", "a,b", "\"multi", "line\",b,extra");
    assertEquals(wide + ":3: row has 3 field(s), the header 2",
        assertThrows(DataFormatException.class, () -> DatasetReader.read(wide)).getMessage());
    Path twice = write(dir, "twice.csv", "input,input", "a,b");
    assertEquals(twice + ":1: column 'input' appears twice in the header",
        assertThrows(DataFormatException.class, () -> DatasetReader.read(twice)).getMessage());
    Path open = write(dir, "open.csv", "input,output", "a,b", "\"never closed,b");
    DataFormatException e = assertThrows(DataFormatException.class, () -> DatasetReader.read(open));
    assertEquals(3, e.line());
    assertTrue(e.getMessage().startsWith(open + ":3: bad CSV: "), e.getMessage());
    Path empty = write(dir, "empty.csv", "");
    assertEquals(empty + ": a .csv dataset needs a header row naming its columns",
        assertThrows(DataFormatException.class, () -> DatasetReader.read(empty)).getMessage());
  }

  @Test
  void csvKeepsPandasConventions() {
    Path f = write(dir, "p.csv", "\uFEFF,input,score,flag,id", "0,007,1e3,TRUE,12", "1,x,2,false,");
    List<JsonRecord> records = DatasetReader.read(f);
    assertEquals("{\"Unnamed: 0\":0,\"input\":\"007\",\"score\":1000.0,\"flag\":true,\"id\":12}",
        records.get(0).fields().toString());
    assertEquals("{\"Unnamed: 0\":1,\"input\":\"x\",\"score\":2.0,\"flag\":false,\"id\":null}",
        records.get(1).fields().toString());
  }

  private static char[] text(long[] ids) {
    char[] c = new char[ids.length];
    for (int i = 0; i < ids.length; i++) {
      c[i] = (char) ids[i];
    }
    return c;
  }

  private static int rowGroups(Path f) throws IOException {
    try (org.apache.parquet.hadoop.ParquetFileReader r = org.apache.parquet.hadoop.ParquetFileReader.open(
        new org.apache.parquet.io.LocalInputFile(f), org.apache.parquet.ParquetReadOptions.builder(
            new org.apache.parquet.conf.PlainParquetConfiguration()).withCodecFactory(new ParquetCodecs()).build())) {
      return r.getRowGroups().size();
    }
  }

  /** Stores pages as they are but labels them with the codec asked for: a file the reader must refuse. */
  private static final class MislabelledCodecs implements CompressionCodecFactory {
    @Override
    public BytesInputCompressor getCompressor(CompressionCodecName codec) {
      return new BytesInputCompressor() {
        @Override
        public BytesInput compress(BytesInput bytes) {
          return bytes;
        }

        @Override
        public CompressionCodecName getCodecName() {
          return codec;
        }

        @Override
        public void release() {}
      };
    }

    @Override
    public BytesInputDecompressor getDecompressor(CompressionCodecName codec) {
      throw new UnsupportedOperationException("write only");
    }

    @Override
    public void release() {}
  }
}
