package org.rlhfnode.runtime.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.rlhfnode.runtime.data.DataTestSupport.numbered;
import static org.rlhfnode.runtime.data.DataTestSupport.write;

import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Mixing with dataset_probs, max_samples, the eval hold-out and a separate eval dataset. */
class MixedDatasetTest {
  /** Examples are just the input text, so tests can see where each came from. */
  private static final Function<JsonRecord, Optional<String>> INPUT = r -> Optional.of(r.text("input", "input_key"));

  @TempDir
  Path dir;

  private static DataOptions.Builder options() {
    return DataOptions.builder().outputKey("output");
  }

  private static MixedDataset<String> mix(DataOptions o, List<List<JsonRecord>> sources) {
    return MixedDataset.fromRecords(sources, List.of(), o, INPUT);
  }

  @Test
  void probabilitiesSetTheShareOfEachSourceAndEverySourceIsUsedUp() {
    List<List<JsonRecord>> sources = List.of(numbered("a", "A", 1000), numbered("b", "B", 200));
    List<String> train = mix(options().datasetProbs("0.7,0.3").seed(7).build(), sources).train();
    long fromA = train.stream().filter(s -> s.startsWith("A")).count();
    double shareA = (double) fromA / train.size();
    assertEquals(0.7, shareA, 0.03, "share of A in " + train.size() + " examples");
    // all_exhausted: every example of every source appears at least once; B (smaller share) is oversampled
    assertEquals(1200, new HashSet<>(train).size());
    assertTrue(train.size() - fromA > 200, "B is cycled to keep its 30% share");
    assertTrue(train.get(train.size() - 1).equals("A999"), "mixing stops once the last source is used up");
  }

  @Test
  void mixingIsDeterministicForASeedAndChangesWithIt() {
    List<List<JsonRecord>> sources = List.of(numbered("a", "A", 50), numbered("b", "B", 50));
    List<String> first = mix(options().datasetProbs("0.5,0.5").seed(1).build(), sources).train();
    List<String> again = mix(options().datasetProbs("0.5,0.5").seed(1).build(), sources).train();
    List<String> other = mix(options().datasetProbs("0.5,0.5").seed(2).build(), sources).train();
    assertEquals(first, again);
    assertNotEquals(first, other);
  }

  @Test
  void withoutProbabilitiesSourcesAreConcatenated() {
    List<String> train = mix(options().build(), List.of(numbered("a", "A", 2), numbered("b", "B", 3))).train();
    assertEquals(List.of("A0", "A1", "B0", "B1", "B2"), train);
  }

  @Test
  void maxSamplesCapsEachSourceAndTheMixedSet() {
    List<List<JsonRecord>> sources = List.of(numbered("a", "A", 10), numbered("b", "B", 10));
    assertEquals(List.of("A0", "A1", "A2"), mix(options().maxSamples(3).build(), sources).train());
    List<List<JsonRecord>> big = List.of(numbered("a", "A", 200), numbered("b", "B", 200));
    List<String> mixed = mix(options().maxSamples(100).datasetProbs("0.5,0.5").build(), big).train();
    assertEquals(100, mixed.size());
    assertTrue(mixed.stream().allMatch(s -> Integer.parseInt(s.substring(1)) < 100),
        "each source is cut to its first 100 records before mixing: " + mixed);
  }

  @Test
  void evalSplitIsDisjointFromTrainAndCoversTheRest() {
    List<List<JsonRecord>> sources = List.of(numbered("a", "A", 100), numbered("b", "B", 30));
    MixedDataset<String> data = mix(options().evalSplit(0.1).seed(3).build(), sources);
    Set<String> train = new HashSet<>(data.train());
    Set<String> eval = new HashSet<>(data.eval());
    assertEquals(13, eval.size(), "ceil(10%) of each source: 10 + 3");
    assertEquals(117, train.size());
    assertTrue(eval.stream().noneMatch(train::contains), "eval overlaps train: " + eval);
    Set<String> all = new HashSet<>(train);
    all.addAll(eval);
    assertEquals(130, all.size());
    assertEquals(data.eval(), mix(options().evalSplit(0.1).seed(3).build(), sources).eval());
    assertNotEquals(data.eval(), mix(options().evalSplit(0.1).seed(4).build(), sources).eval());
  }

  @Test
  void evalSplitStaysDisjointWhenSmallSourcesAreOversampled() {
    List<List<JsonRecord>> sources = List.of(numbered("a", "A", 40), numbered("b", "B", 10));
    MixedDataset<String> data = mix(options().evalSplit(0.2).datasetProbs("0.2,0.8").build(), sources);
    Set<String> eval = new HashSet<>(data.eval());
    assertEquals(10, eval.size());
    assertTrue(data.train().stream().noneMatch(eval::contains));
  }

  @Test
  void separateEvalDatasetIsReadFromItsOwnFiles() {
    Path train = write(dir, "train.jsonl", "{\"input\":\"t1\",\"output\":\"x\"}", "{\"input\":\"t2\",\"output\":\"x\"}");
    Path eval = write(dir, "eval.json", "[{\"input\":\"e1\",\"output\":\"x\"}]");
    DataOptions o = options().dataset(train.toString()).evalDataset(eval.toString()).build();
    MixedDataset<String> data = MixedDataset.load(o, INPUT);
    assertEquals(List.of("t1", "t2"), data.train());
    assertEquals(List.of("e1"), data.eval());
  }

  @Test
  void tooLongExamplesAreDroppedAndListedNotSilentlySkipped() {
    Path f = write(dir, "a.jsonl", "{\"input\":\"ok\",\"output\":\"x\"}", "{\"input\":\"far too long\",\"output\":\"x\"}");
    DataOptions o = options().dataset(f.toString()).maxLen(8).build();
    MixedDataset<SftExample> data = MixedDataset.sft(o, DataTestSupport.charTokenizer());
    assertEquals(1, data.train().size());
    assertEquals(List.of(f + ":2"), data.dropped());
  }

  @Test
  void emptySourceIsAnError() {
    Path f = write(dir, "a.jsonl", "");
    DataOptions o = options().dataset(f.toString()).build();
    DataFormatException e = assertThrows(DataFormatException.class, () -> MixedDataset.load(o, INPUT));
    assertEquals(f + ": dataset holds no records", e.getMessage());
  }
}
