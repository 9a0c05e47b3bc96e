package org.rlhfnode.runtime.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.rlhfnode.runtime.data.DataTestSupport.JSON;
import static org.rlhfnode.runtime.data.DataTestSupport.write;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.parquet.hadoop.metadata.CompressionCodecName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rlhfnode.runtime.hub.HubCache;

/**
 * Which files a source and a split name give: the datasets library's split rules for directories,
 * and {@code org/name[@data_dir]} from a fake HuggingFace hub cache laid out as
 * {@code huggingface-cli download --repo-type dataset} leaves it.
 */
class DatasetSourceTest {
  private static final String COMMIT = "00000000000000000000000000000000000000aa";

  @TempDir
  Path dir;

  private Map<String, List<String>> splits(Path root) {
    Map<String, List<String>> out = new java.util.LinkedHashMap<>();
    DataFiles.splits(root).forEach((k, v) -> out.put(k, v.stream().map(p -> root.relativize(p).toString()).toList()));
    return out;
  }

  @Test
  void shardsNameTheirSplit() {
    Path d = dir.resolve("sharded");
    write(d, "data/train-00000-of-00002.jsonl", "{}");
    write(d, "data/train-00001-of-00002.jsonl", "{}");
    write(d, "data/test-00000-of-00001.jsonl", "{}");
    write(d, "data/extra.v2-00000-of-00001.jsonl", "{}");
    write(d, "README.md", "# card");
    assertEquals(Map.of("train", List.of("data/train-00000-of-00002.jsonl", "data/train-00001-of-00002.jsonl"),
        "test", List.of("data/test-00000-of-00001.jsonl"), "extra.v2", List.of("data/extra.v2-00000-of-00001.jsonl")),
        splits(d));
    assertEquals(List.of("train", "test", "extra.v2"), new ArrayList<>(splits(d).keySet()));
  }

  @Test
  void folderNamesComeBeforeFileNamesAndOtherwiseEverythingIsTrain() {
    Path folders = dir.resolve("folders");
    write(folders, "train/a.jsonl", "{}");
    write(folders, "my_dev_set/b.csv", "x");
    write(folders, "test.jsonl", "{}"); // not under a split folder: left out, as the datasets library does
    assertEquals(Map.of("train", List.of("train/a.jsonl"), "validation", List.of("my_dev_set/b.csv")),
        splits(folders));
    Path names = dir.resolve("names");
    write(names, "sft_train.jsonl", "{}");
    write(names, "sft-eval.parquet", "x");
    write(names, "notes.txt", "not data");
    write(names, ".hidden/test.jsonl", "{}");
    assertEquals(Map.of("train", List.of("sft_train.jsonl"), "test", List.of("sft-eval.parquet")), splits(names));
    Path plain = dir.resolve("plain");
    write(plain, "b.jsonl", "{}");
    write(plain, "a/contest.json", "[]"); // "contest" is no keyword: no separator before "test"
    assertEquals(Map.of("train", List.of("a/contest.json", "b.jsonl")), splits(plain));
  }

  @Test
  void hubDatasetReadsTheRequestedSplitFromTheSnapshot() throws IOException {
    Path hub = dir.resolve("hub");
    Path snapshot = hubDataset(hub, "datasets--org--prompts");
    parquet(snapshot.resolve("data/train-00000-of-00001.parquet"), "train", 5);
    parquet(snapshot.resolve("data/test-00000-of-00001.parquet"), "test", 2);
    write(snapshot, "math/train.jsonl", "{\"input\":\"math0\"}");
    HubCache cache = HubCache.at(hub);
    assertEquals(List.of(snapshot.resolve("data/test-00000-of-00001.parquet")),
        DatasetSource.files("org/prompts", "test", cache));
    assertEquals(List.of(snapshot.resolve("math/train.jsonl")),
        DatasetSource.files("org/prompts@math", "train", cache));
    DataFormatException missing = assertThrows(DataFormatException.class,
        () -> DatasetSource.files("org/prompts", "validation", cache));
    assertEquals("org/prompts: no split 'validation' in " + snapshot + " (it has train, test)", missing.getMessage());
  }

  @Test
  void mixedDatasetTakesTrainAndEvalSplitsFromTheHubCache() throws IOException {
    Path hub = dir.resolve("hub");
    Path snapshot = hubDataset(hub, "datasets--org--prompts");
    parquet(snapshot.resolve("data/train-00000-of-00001.parquet"), "train", 5);
    parquet(snapshot.resolve("data/test-00000-of-00001.parquet"), "test", 2);
    String before = System.getProperty("HF_HUB_CACHE");
    System.setProperty("HF_HUB_CACHE", hub.toString());
    try {
      DataOptions o = DataOptions.builder().dataset("org/prompts").evalSplit("test").build();
      MixedDataset<String> data = MixedDataset.load(o, r -> Optional.of(r.text("input", "input_key")));
      assertEquals(List.of("train0", "train1", "train2", "train3", "train4"), data.train());
      assertEquals(List.of("test0", "test1"), data.eval());
      DataOptions swapped = DataOptions.builder().dataset("org/prompts").datasetSplit("test").maxSamples(1).build();
      assertEquals(List.of("test0"),
          MixedDataset.load(swapped, r -> Optional.of(r.text("input", "input_key"))).train());
    } finally {
      if (before == null) {
        System.clearProperty("HF_HUB_CACHE");
      } else {
        System.setProperty("HF_HUB_CACHE", before);
      }
    }
  }

  @Test
  void aDatasetFoundNowhereSaysWhereItLooked() {
    DataFormatException e = assertThrows(DataFormatException.class,
        () -> DatasetSource.files("org/absent", "train", HubCache.at(dir)));
    String expected = "org/absent: no such file or directory (" + Path.of("org/absent").toAbsolutePath()
        + "), and not in the HuggingFace hub cache " + dir + " (given): "
        + dir.resolve("datasets--org--absent/refs/main") + " not found; nothing is downloaded";
    assertEquals(expected, e.getMessage().substring(0, expected.length()));
  }

  @Test
  void aSingleFileHasOnlyTheTrainSplit() {
    Path f = write(dir, "p.jsonl", "{\"input\":\"a\"}");
    assertEquals(List.of(f), DatasetSource.files(f.toString(), "train", HubCache.at(dir)));
    DataFormatException e = assertThrows(DataFormatException.class,
        () -> DatasetSource.files(f.toString(), "test", HubCache.at(dir)));
    assertEquals(f + ": a single file holds only split 'train', not 'test' (give the file of that split, or a "
        + "directory whose file names carry the split)", e.getMessage());
  }

  @Test
  void aHubDatasetWithSeveralConfigsMustBeNarrowedToOne() throws IOException {
    Path hub = dir.resolve("hub");
    Path snapshot = hubDataset(hub, "datasets--org--multi");
    write(snapshot, "README.md", "---", "configs:", "- config_name: math", "  data_files: math/*.jsonl",
        "- config_name: code", "  data_files: code/*.jsonl", "---", "# multi");
    write(snapshot, "math/train.jsonl", "{\"input\":\"m\"}");
    write(snapshot, "code/train.jsonl", "{\"input\":\"c\"}");
    DataFormatException e = assertThrows(DataFormatException.class,
        () -> DatasetSource.files("org/multi", "train", HubCache.at(hub)));
    assertEquals("org/multi: the dataset declares 2 configs (math, code) in its README.md; read one of them with "
        + "org/multi@<its directory> (OpenRLHF's data_dir) or give the path of its files", e.getMessage());
    assertEquals(List.of(snapshot.resolve("code/train.jsonl")), DatasetSource.files("org/multi@code", "train",
        HubCache.at(hub)));
  }

  private static Path hubDataset(Path hub, String folder) throws IOException {
    Path repo = hub.resolve(folder);
    Files.createDirectories(repo.resolve("refs"));
    Files.writeString(repo.resolve("refs/main"), COMMIT);
    return Files.createDirectories(repo.resolve("snapshots").resolve(COMMIT));
  }

  private static void parquet(Path file, String prefix, int n) throws IOException {
    Files.createDirectories(file.getParent());
    List<ObjectNode> rows = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      rows.add(JSON.createObjectNode().put("input", prefix + i));
    }
    ParquetFixtures.write(file, ParquetFixtures.SCHEMA, rows, CompressionCodecName.SNAPPY);
  }
}
