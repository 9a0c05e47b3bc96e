package org.rlhfnode.runtime.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** Epoch-aware shuffling and a cursor that resumes on exactly the same batches. */
class BatchIteratorTest {
  private static final List<Integer> DATA = IntStream.range(0, 23).boxed().toList();

  private static BatchIterator<Integer> iterator() {
    return new BatchIterator<>(DATA, 4, true, true, 42, 3);
  }

  private static List<List<Integer>> drain(BatchIterator<Integer> it) {
    List<List<Integer>> out = new ArrayList<>();
    it.forEachRemaining(out::add);
    return out;
  }

  @Test
  void eachEpochIsADifferentPermutationWithoutRepeats() {
    BatchIterator<Integer> it = iterator();
    assertEquals(5, it.batchesPerEpoch());
    List<List<Integer>> all = drain(it);
    assertEquals(15, all.size());
    List<Integer> epoch0 = all.subList(0, 5).stream().flatMap(List::stream).toList();
    List<Integer> epoch1 = all.subList(5, 10).stream().flatMap(List::stream).toList();
    assertEquals(20, new HashSet<>(epoch0).size(), "drop_last: 20 of 23 distinct examples per epoch");
    assertNotEquals(epoch0, epoch1);
    assertNotEquals(DATA.subList(0, 20), epoch0);
    assertFalse(it.hasNext());
    assertThrows(NoSuchElementException.class, it::next);
  }

  @Test
  void restoredCursorGivesTheSameNextBatchesAtEveryPoint() {
    List<List<Integer>> reference = drain(iterator());
    for (int k = 0; k <= reference.size(); k++) {
      BatchIterator<Integer> run = iterator();
      for (int i = 0; i < k; i++) {
        run.next();
      }
      DataCursor saved = run.cursor();
      BatchIterator<Integer> resumed = new BatchIterator<>(DATA, 4, true, true, 999, 3);
      resumed.restore(saved);
      assertEquals(reference.subList(k, reference.size()), drain(resumed), "resumed after " + k + " batches");
    }
  }

  @Test
  void cursorSurvivesAJsonRoundTrip() throws Exception {
    BatchIterator<Integer> run = iterator();
    for (int i = 0; i < 7; i++) {
      run.next();
    }
    ObjectMapper json = new ObjectMapper();
    DataCursor saved = json.readValue(json.writeValueAsString(run.cursor()), DataCursor.class);
    assertEquals(new DataCursor(42, 1, 8, 23), saved);
    BatchIterator<Integer> resumed = iterator();
    resumed.restore(saved);
    assertEquals(drain(run), drain(resumed));
  }

  @Test
  void epochEndMovesTheCursorToTheNextEpoch() {
    BatchIterator<Integer> run = iterator();
    for (int i = 0; i < 5; i++) {
      run.next();
    }
    assertEquals(new DataCursor(42, 1, 0, 23), run.cursor());
  }

  @Test
  void withoutShuffleOrDropLastEveryExampleIsVisitedInOrder() {
    BatchIterator<Integer> it = new BatchIterator<>(DATA, 10, false, false, 0, 1);
    assertEquals(List.of(DATA.subList(0, 10), DATA.subList(10, 20), DATA.subList(20, 23)), drain(it));
  }

  @Test
  void cursorOfAnotherDatasetIsRefused() {
    BatchIterator<Integer> it = iterator();
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> it.restore(new DataCursor(42, 0, 4, 24)));
    assertEquals("data cursor was saved for 24 examples but the dataset has 23", e.getMessage());
  }
}
