package org.rlhfnode.node.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.apache.parquet.bytes.BytesInput;
import org.apache.parquet.compression.CompressionCodecFactory;
import org.apache.parquet.conf.PlainParquetConfiguration;
import org.apache.parquet.example.data.Group;
import org.apache.parquet.example.data.simple.SimpleGroupFactory;
import org.apache.parquet.hadoop.ParquetWriter;
import org.apache.parquet.hadoop.example.ExampleParquetWriter;
import org.apache.parquet.hadoop.metadata.CompressionCodecName;
import org.apache.parquet.io.LocalOutputFile;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.MessageTypeParser;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Commands take models and datasets by their HuggingFace names from a local hub cache, as a user who ran
 * {@code huggingface-cli download} has them: a fake cache in a temporary directory ({@code HF_HUB_CACHE}
 * given as a system property), holding the bundled tiny model and a Parquet copy of the SFT example data.
 */
class HubCacheCommandsTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Path REPO = Path.of(System.getProperty("rlhf.repo"));
  private static final Path TINY = REPO.resolve("examples/tiny-llama");
  private static final String COMMIT = "1111111111111111111111111111111111111111";

  @TempDir
  Path tmp;
  private String before;

  @BeforeEach
  void pointTheCacheHere() {
    before = System.getProperty("HF_HUB_CACHE");
    System.setProperty("HF_HUB_CACHE", tmp.resolve("hub").toString());
  }

  @AfterEach
  void restore() {
    if (before == null) {
      System.clearProperty("HF_HUB_CACHE");
    } else {
      System.setProperty("HF_HUB_CACHE", before);
    }
  }

  @Test
  void generateTakesAModelByItsHubName() throws IOException {
    snapshot("models--acme--tiny-llama", TINY);
    String[] flags = {"--input-ids", "1,5,9", "--max-new-tokens", "3", "--greedy"};
    CliTest.Run byName = CliTest.run(concat(new String[] {"generate", "--model", "acme/tiny-llama"}, flags));
    CliTest.Run byPath = CliTest.run(concat(new String[] {"generate", "--model", TINY.toString()}, flags));
    assertEquals(0, byName.code(), byName.err());
    assertEquals(byPath.out(), byName.out());
  }

  @Test
  void aModelInNoPlaceIsOneErrorLineSayingWhereItLooked() {
    CliTest.Run r = CliTest.run("generate", "--model", "acme/absent", "--input-ids", "1,5", "--greedy");
    assertEquals(2, r.code());
    assertEquals(1, r.err().strip().lines().count(), r.err());
    String first = r.err().strip();
    assertEquals("error: acme/absent: no such local directory ("
        + Path.of("acme/absent").toAbsolutePath() + "), and not in the HuggingFace hub cache " + tmp.resolve("hub")
        + " (HF_HUB_CACHE): " + tmp.resolve("hub/models--acme--absent/refs/main") + " not found; nothing is "
        + "downloaded (as with HF_HUB_OFFLINE=1): fetch it where there is network with `huggingface-cli download "
        + "acme/absent` into that cache (set HF_HUB_CACHE or HF_HOME to point here), or give a local directory", first);
  }

  @Test
  void sftOnAHubParquetDatasetMatchesTheSameRowsAsJsonl() throws Exception {
    snapshot("models--acme--tiny-llama", TINY);
    List<String> rows = Files.readAllLines(REPO.resolve("examples/data/sft.jsonl")).subList(0, 64);
    Path jsonl = Files.write(tmp.resolve("sft.jsonl"), rows);
    Path data = Files.createDirectories(tmp.resolve("dataset/data"));
    parquet(data.resolve("train-00000-of-00001.parquet"), rows);
    snapshot("datasets--acme--sft", tmp.resolve("dataset"));
    List<JsonNode> fromHub = sft("acme/tiny-llama", "acme/sft", tmp.resolve("hub-run"));
    List<JsonNode> fromFiles = sft(TINY.toString(), jsonl.toString(), tmp.resolve("file-run"));
    assertEquals(2, fromHub.size());
    for (int i = 0; i < 2; i++) {
      assertEquals(fromFiles.get(i).get("loss").asDouble(), fromHub.get(i).get("loss").asDouble(), 0.0, "step " + i);
    }
    String config = Files.readString(tmp.resolve("hub-run/train_config.conf"));
    assertTrue(config.contains("acme/tiny-llama"), "the run records the model as the user named it");
  }

  private static List<JsonNode> sft(String model, String dataset, Path save) throws IOException {
    CliTest.Run r = CliTest.run("train", "sft", "--pretrain", model, "--dataset", dataset, "--input_key", "input",
        "--output_key", "output", "--apply_chat_template", "--save_path", save.toString(), "--max_len", "64",
        "--micro_train_batch_size", "8", "--train_batch_size", "16", "--max_steps", "2", "--threads", "2",
        "--learning_rate", "1e-3", "--lr_warmup_ratio", "0");
    assertEquals(0, r.code(), r.err());
    List<JsonNode> steps = new ArrayList<>();
    for (String line : Files.readAllLines(save.resolve("metrics.jsonl"))) {
      JsonNode row = JSON.readTree(line);
      if (row.has("loss")) {
        steps.add(row);
      }
    }
    return steps;
  }

  /** {@code source}'s files as huggingface_hub stores a download: blobs, snapshot symlinks, refs/main. */
  private void snapshot(String repoFolder, Path source) throws IOException {
    Path repo = tmp.resolve("hub").resolve(repoFolder);
    Path snapshot = Files.createDirectories(repo.resolve("snapshots").resolve(COMMIT));
    Path blobs = Files.createDirectories(repo.resolve("blobs"));
    try (Stream<Path> files = Files.walk(source)) {
      for (Path f : files.filter(Files::isRegularFile).toList()) {
        Path blob = blobs.resolve("b" + blobs.toFile().list().length);
        Files.copy(f, blob);
        Path link = snapshot.resolve(source.relativize(f).toString());
        Files.createDirectories(link.getParent());
        Files.createSymbolicLink(link, blob);
      }
    }
    Files.createDirectories(repo.resolve("refs"));
    Files.writeString(repo.resolve("refs/main"), COMMIT);
  }

  /** The JSONL rows {input, output} as an uncompressed Parquet file, written with parquet-hadoop. */
  private static void parquet(Path file, List<String> rows) throws IOException {
    MessageType schema = MessageTypeParser.parseMessageType(
        "message schema { optional binary input (STRING); optional binary output (STRING); }");
    SimpleGroupFactory groups = new SimpleGroupFactory(schema);
    try (ParquetWriter<Group> writer = ExampleParquetWriter.builder(new LocalOutputFile(file))
        .withConf(new PlainParquetConfiguration()).withCodecFactory(new Stored())
        .withCompressionCodec(CompressionCodecName.UNCOMPRESSED).withType(schema).build()) {
      for (String row : rows) {
        JsonNode r = JSON.readTree(row);
        writer.write(groups.newGroup().append("input", r.get("input").asText())
            .append("output", r.get("output").asText()));
      }
    }
  }

  private static String[] concat(String[] a, String[] b) {
    return Stream.concat(Stream.of(a), Stream.of(b)).toArray(String[]::new);
  }

  /** Pages stored as they are (UNCOMPRESSED), without Hadoop's codec classes. */
  private static final class Stored implements CompressionCodecFactory {
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
