package org.rlhfnode.runtime.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.bytedeco.javacpp.PointerScope;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.rlhfnode.runtime.tensor.Tensors;

/** A gang runs every task on all its ranks; a rank's failure ends the gang at once, with that rank's error. */
class RankGangTest {
  @Test
  void tasksRunOnEveryRankInOrder() {
    try (RankGang gang = RankGang.cpu(3, Duration.ofSeconds(30), "gang-test")) {
      assertEquals(List.of(0, 1, 2), gang.run(c -> c.rank()));
      assertEquals(List.of(3.0, 3.0, 3.0), gang.run(c -> c.sum(1.0)));
      assertEquals(3, (int) gang.<Integer>first(c -> c.worldSize()));
    }
  }

  @Test
  @Timeout(value = 60, unit = TimeUnit.SECONDS) // the collective timeout is 10 minutes: a hang fails here
  void aRankThatFailsEndsTheGangWithItsOwnErrorInsteadOfAHang() {
    try (RankGang gang = RankGang.cpu(2, Duration.ofMinutes(10), "gang-test")) {
      RuntimeException e = assertThrows(RuntimeException.class, () -> gang.run(c -> {
        if (c.rank() == 1) {
          throw new IllegalArgumentException("rank one: disk full");
        }
        try (PointerScope scope = new PointerScope()) {
          c.allReduceSum(Tensors.floats(new float[] {1}, 1)); // rank 1 never comes
        }
        return 0;
      }));
      assertEquals("rank one: disk full", e.getMessage());
      assertTrue(gang.broken());
      IllegalStateException later = assertThrows(IllegalStateException.class, () -> gang.run(c -> 1));
      assertTrue(later.getMessage().contains("load the model again"), later.getMessage());
    }
  }
}
