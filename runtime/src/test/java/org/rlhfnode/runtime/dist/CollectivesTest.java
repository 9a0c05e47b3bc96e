package org.rlhfnode.runtime.dist;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;
import org.rlhfnode.runtime.tensor.Tensors;
import org.rlhfnode.runtime.transport.RankGroup;

/** Gloo collectives between 2 and 4 rank threads give the sums and concatenations the maths says. */
class CollectivesTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(30);

  @ParameterizedTest
  @ValueSource(ints = {1, 2, 4})
  void allReduceAllGatherAndReduceScatterCombineEveryRank(int n) {
    List<float[][]> out = RankGroup.run(n, TIMEOUT, "test", c -> {
      try (PointerScope scope = new PointerScope()) {
        int r = c.rank();
        Tensor a = Tensors.floats(new float[] {r, 10 * r + 1}, 2); // rank r: [r, 10r+1]
        c.allReduceSum(a);
        Tensor piece = Tensors.floats(new float[] {r + 0.5f, -r}, 2);
        Tensor gathered = Tensors.floats(new float[(int) (2L * n)], 2L * n);
        c.allGather(gathered, piece);
        float[] whole = new float[2 * n];
        for (int i = 0; i < whole.length; i++) {
          whole[i] = i * (r + 1); // rank r contributes i·(r+1)
        }
        Tensor reduced = Tensors.floats(new float[(int) (2)], 2);
        c.reduceScatterSum(reduced, Tensors.floats(whole, whole.length));
        double total = c.sum(r + 1);
        return new float[][] {Tensors.toFloats(a), Tensors.toFloats(gathered), Tensors.toFloats(reduced),
            {(float) total}};
      }
    });
    int sumR = n * (n - 1) / 2;
    int sumR1 = n * (n + 1) / 2;
    for (int r = 0; r < n; r++) {
      float[][] got = out.get(r);
      assertArrayEquals(new float[] {sumR, 10 * sumR + n}, got[0], 0f, "all-reduce on rank " + r);
      float[] gathered = new float[2 * n];
      for (int q = 0; q < n; q++) {
        gathered[2 * q] = q + 0.5f;
        gathered[2 * q + 1] = -q;
      }
      assertArrayEquals(gathered, got[1], 0f, "all-gather on rank " + r);
      assertArrayEquals(new float[] {2 * r * sumR1, (2 * r + 1) * sumR1}, got[2], 0f, "reduce-scatter on rank " + r);
      assertEquals(sumR1, got[3][0], 0f);
    }
  }

  @Test
  void aRankThatFailsIsReportedWithItsOwnMessage() {
    RuntimeException e = assertThrows(RuntimeException.class, () -> RankGroup.run(2, Duration.ofSeconds(5), "test",
        c -> {
          if (c.rank() == 1) {
            throw new IllegalStateException("rank one broke");
          }
          try (PointerScope scope = new PointerScope()) {
            c.allReduceSum(Tensors.floats(new float[(int) (1)], 1)); // rank 1 never comes: times out
          }
          return 0;
        }));
    assertTrue(e.getMessage().contains("rank one broke"), e.getMessage());
  }
}
