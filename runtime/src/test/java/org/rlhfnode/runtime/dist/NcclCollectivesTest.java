package org.rlhfnode.runtime.dist;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.time.Duration;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;
import org.rlhfnode.runtime.tensor.DeviceSpec;
import org.rlhfnode.runtime.tensor.Tensors;
import org.rlhfnode.runtime.transport.RankGroup;

/**
 * The NCCL backend behind {@link Collectives}: all-reduce, all-gather and reduce-scatter of CUDA
 * tensors over two GPUs give the Gloo results. Runs only with the gpu build on a machine with two
 * CUDA devices (examples/gpu-check.sh); skipped, with that reason, everywhere else.
 */
class NcclCollectivesTest {
  @Test
  void collectivesOnTwoGpusCombineBothRanks() {
    assumeTrue(torch.cuda_device_count() >= 2, "needs the gpu build (mvn -Pgpu) and two CUDA devices");
    List<float[][]> out = RankGroup.runNccl(List.of(0, 1), Duration.ofSeconds(60), "nccl-test", c -> {
      try (PointerScope scope = new PointerScope()) {
        DeviceSpec gpu = c.device();
        int r = c.rank();
        Tensor a = Tensors.floats(new float[] {r, 10 * r + 1}, 2).to(gpu.torchDevice(), ScalarType.Float);
        c.allReduceSum(a);
        Tensor gathered = torch.zeros(new long[] {4}, Tensors.options(ScalarType.Float, gpu));
        c.allGather(gathered, Tensors.floats(new float[] {r + 0.5f, -r}, 2).to(gpu.torchDevice(), ScalarType.Float));
        Tensor reduced = torch.zeros(new long[] {2}, Tensors.options(ScalarType.Float, gpu));
        c.reduceScatterSum(reduced, Tensors.floats(new float[] {0, 1 + r, 2, 3}, 4).to(gpu.torchDevice(),
            ScalarType.Float));
        return new float[][] {Tensors.toFloats(a.cpu()), Tensors.toFloats(gathered.cpu()),
            Tensors.toFloats(reduced.cpu()), {(float) c.sum(r + 1)}};
      }
    });
    for (int r = 0; r < 2; r++) {
      assertArrayEquals(new float[] {1, 12}, out.get(r)[0], 0f);
      assertArrayEquals(new float[] {0.5f, 0, 1.5f, -1}, out.get(r)[1], 0f);
      assertArrayEquals(r == 0 ? new float[] {0, 3} : new float[] {4, 6}, out.get(r)[2], 0f);
      assertArrayEquals(new float[] {3}, out.get(r)[3], 0f);
    }
  }
}
