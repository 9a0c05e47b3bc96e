package org.rlhfnode.runtime.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.rlhfnode.runtime.data.DataTestSupport.write;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Reading JSONL, JSON arrays, directories and comma-separated sources; every malformed case names
 * file:line. Parquet and CSV: {@link DatasetFormatsTest}; splits and the hub cache: {@link DatasetSourceTest}.
 */
class DatasetReaderTest {
  @TempDir
  Path dir;

  private static final DataOptions SFT = DataOptions.sftBuilder().outputKey("output").maxLen(64).build();

  @Test
  void jsonlSkipsBlankLinesAndKeepsLineNumbers() {
    Path f = write(dir, "a.jsonl", "{\"input\":\"a\"}", "", "   ", "{\"input\":\"b\"}");
    List<JsonRecord> records = DatasetReader.read(f);
    assertEquals(2, records.size());
    assertEquals(1, records.get(0).line());
    assertEquals(4, records.get(1).line());
    assertEquals("b", records.get(1).text("input", "input_key"));
  }

  @Test
  void jsonArrayRecordsCarryTheLineTheirObjectStartsOn() {
    Path f = write(dir, "a.json", "[", "  {\"input\": \"a\"},", "", "  {\"input\":", "   \"b\"}", "]");
    List<JsonRecord> records = DatasetReader.read(f);
    assertEquals(List.of(2, 4), records.stream().map(JsonRecord::line).toList());
  }

  @Test
  void directoryIsReadAsItsJsonFilesInNameOrder() {
    write(dir, "d/b.jsonl", "{\"input\":\"b\"}");
    write(dir, "d/a.json", "[{\"input\":\"a\"}]");
    write(dir, "d/notes.txt", "ignored");
    List<JsonRecord> records = DatasetReader.read(dir.resolve("d"));
    assertEquals(List.of("a", "b"), records.stream().map(r -> r.text("input", "input_key")).toList());
  }

  @Test
  void commaSeparatedPathsAreSeparateSources() {
    Path a = write(dir, "a.jsonl", "{\"input\":\"a\",\"output\":\"x\"}");
    Path b = write(dir, "b.jsonl", "{\"input\":\"b\",\"output\":\"y\"}", "{\"input\":\"c\",\"output\":\"z\"}");
    DataOptions o = DataOptions.builder().dataset(a + " , " + b).build();
    List<List<JsonRecord>> sources = DatasetReader.readAll(o.datasetPaths());
    assertEquals(List.of(1, 2), sources.stream().map(List::size).toList());
  }

  @Test
  void badJsonLineNamesFileAndLine() {
    Path f = write(dir, "a.jsonl", "{\"input\":\"a\"}", "{\"input\": oops}");
    DataFormatException e = assertThrows(DataFormatException.class, () -> DatasetReader.read(f));
    assertEquals(f + ":2: bad JSON: ", e.getMessage().substring(0, (f + ":2: bad JSON: ").length()));
    assertEquals(2, e.line());
  }

  @Test
  void lineThatIsNotAnObjectIsAnError() {
    Path f = write(dir, "a.jsonl", "[1, 2]");
    DataFormatException e = assertThrows(DataFormatException.class, () -> DatasetReader.read(f));
    assertEquals(f + ":1: expected a JSON object, got array", e.getMessage());
  }

  @Test
  void twoObjectsOnOneLineAndDuplicateKeysAreErrors() {
    Path f = write(dir, "a.jsonl", "{\"input\":\"a\"} {\"input\":\"b\"}");
    assertEquals(1, assertThrows(DataFormatException.class, () -> DatasetReader.read(f)).line());
    Path g = write(dir, "b.jsonl", "", "{\"input\":\"a\",\"input\":\"b\"}");
    DataFormatException e = assertThrows(DataFormatException.class, () -> DatasetReader.read(g));
    assertEquals(2, e.line());
  }

  @Test
  void jsonArrayErrorsNameTheLine() {
    Path f = write(dir, "a.json", "[", "{\"input\":\"a\"},", "3", "]");
    assertEquals(f + ":3: expected a JSON object in the array, got number",
        assertThrows(DataFormatException.class, () -> DatasetReader.read(f)).getMessage());
    Path g = write(dir, "b.json", "[", "{\"input\":\"a\"},", "{\"input\" \"b\"}", "]");
    assertEquals(3, assertThrows(DataFormatException.class, () -> DatasetReader.read(g)).line());
    Path h = write(dir, "c.json", "{\"input\":\"a\"}");
    assertEquals(h + ":1: a .json dataset must be one array of objects",
        assertThrows(DataFormatException.class, () -> DatasetReader.read(h)).getMessage());
  }

  @Test
  void invalidUtf8IsAnErrorNotGarbage() throws IOException {
    Path f = dir.resolve("a.jsonl");
    Files.write(f, new byte[] {'{', '"', 'a', '"', ':', '"', (byte) 0xC3, '"', '}', '\n'});
    DataFormatException e = assertThrows(DataFormatException.class, () -> DatasetReader.read(f));
    assertEquals(f + ":1: not valid UTF-8", e.getMessage());
  }

  @Test
  void missingPathsEmptyDirectoriesAndOtherExtensionsAreErrors() throws IOException {
    Path none = dir.resolve("none.jsonl");
    assertEquals(none + ": dataset path does not exist",
        assertThrows(DataFormatException.class, () -> DatasetReader.read(none)).getMessage());
    Path empty = Files.createDirectory(dir.resolve("empty"));
    assertEquals(empty + ": no .jsonl, .json, .parquet or .csv files",
        assertThrows(DataFormatException.class, () -> DatasetReader.read(empty)).getMessage());
    Path txt = write(dir, "a.txt", "input");
    assertEquals(txt + ": unsupported file type (expected .jsonl, .json, .parquet or .csv)",
        assertThrows(DataFormatException.class, () -> DatasetReader.read(txt)).getMessage());
    write(dir, "other/x.arrow", "arrow");
    assertEquals(dir.resolve("other") + ": no .jsonl, .json, .parquet or .csv files; files of other types are "
        + "not read: x.arrow", assertThrows(DataFormatException.class, () -> DatasetReader.read(dir.resolve("other")))
        .getMessage());
  }

  @Test
  void missingKeyStopsLoadingWithFileAndLine() {
    Path f = write(dir, "a.jsonl", "{\"input\":\"a\",\"output\":\"x\"}", "", "{\"input\":\"b\"}");
    assertLoadError(f, f + ":3: missing key 'output' (output_key)");
  }

  @Test
  void wrongTypeStopsLoadingWithFileAndLine() {
    Path f = write(dir, "a.jsonl", "{\"input\":5,\"output\":\"x\"}");
    assertLoadError(f, f + ":1: input_key 'input' must be a string, got number 5");
  }

  @Test
  void emptyTextStopsLoadingWithFileAndLine() {
    Path f = write(dir, "a.jsonl", "{\"input\":\"a\",\"output\":\"x\"}", "{\"input\":\"b\",\"output\":\"  \"}");
    assertLoadError(f, f + ":2: output_key 'output' is empty");
  }

  @Test
  void nullValueStopsLoadingWithFileAndLine() {
    Path f = write(dir, "a.json", "[{\"input\":\"a\",\"output\":\"x\"},", " {\"input\":null,\"output\":\"x\"}]");
    assertLoadError(f, f + ":2: input_key 'input' is null");
  }

  @Test
  void badChatMessageStopsLoadingWithFileAndLine() {
    Path f = write(dir, "a.jsonl", "{\"input\":[{\"role\":\"user\"}]}");
    DataOptions chat = DataOptions.builder().applyChatTemplate(true).dataset(f.toString()).build();
    DataFormatException e = assertThrows(DataFormatException.class,
        () -> MixedDataset.sft(chat, DataTestSupport.charTokenizer()));
    assertEquals(f + ":1: message 0 of input_key 'input' has no string 'content'", e.getMessage());
  }

  private static void assertLoadError(Path file, String message) {
    DataOptions o = DataOptions.sftBuilder().outputKey("output").maxLen(SFT.maxLen()).dataset(file.toString()).build();
    DataFormatException e = assertThrows(DataFormatException.class,
        () -> MixedDataset.sft(o, DataTestSupport.charTokenizer()));
    assertEquals(message, e.getMessage());
  }
}
