package org.rlhfnode.runtime.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;

/** The dtype table and the TensorInfo value type. */
class DTypeAndTensorInfoTest {
  @Test
  void dtypesHaveTheSafetensorsNamesAndSizes() {
    Map<String, Integer> sizes = Map.of("F64", 8, "F32", 4, "F16", 2, "BF16", 2, "I64", 8, "I32", 4, "I16", 2,
        "I8", 1, "U8", 1, "BOOL", 1);
    assertEquals(sizes.size(), DType.values().length);
    sizes.forEach((name, size) -> {
      DType t = DType.fromSafetensors(name);
      assertEquals(name, t.safetensorsName());
      assertEquals(size, t.byteSize(), name);
    });
  }

  @Test
  void unknownDtypeNamesAreRejectedWithTheSupportedList() {
    for (String bad : new String[] {"bf16", "F8_E5M2", "U32", ""}) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DType.fromSafetensors(bad));
      assertTrue(e.getMessage().contains("'" + bad + "'") && e.getMessage().contains("F64, F32, F16, BF16"),
          e.getMessage());
    }
    assertThrows(IllegalArgumentException.class, () -> DType.fromSafetensors(null));
  }

  @Test
  void tensorInfoIsAnImmutableValueComparedByShapeContent() {
    long[] shape = {3, 4};
    TensorInfo a = new TensorInfo("w", DType.BF16, shape, 100, 24);
    shape[0] = 99;
    assertArrayEquals(new long[] {3, 4}, a.shape());
    a.shape()[1] = 99;
    assertEquals(12, a.numel());
    assertEquals(a, new TensorInfo("w", DType.BF16, new long[] {3, 4}, 100, 24));
    assertEquals(a.hashCode(), new TensorInfo("w", DType.BF16, new long[] {3, 4}, 100, 24).hashCode());
    assertNotEquals(a, new TensorInfo("w", DType.BF16, new long[] {4, 3}, 100, 24));
    assertEquals(1, new TensorInfo("s", DType.F32, new long[] {}, 0, 4).numel());
    assertEquals(0, new TensorInfo("e", DType.F32, new long[] {0, 5}, 0, 0).numel());
  }

  @Test
  void tensorInfoRejectsInconsistentValues() {
    assertThrows(IllegalArgumentException.class, () -> new TensorInfo("w", DType.F32, new long[] {-1}, 0, 0));
    assertThrows(IllegalArgumentException.class, () -> new TensorInfo("w", DType.F32, new long[] {2}, 0, 4));
    assertThrows(IllegalArgumentException.class, () -> new TensorInfo("w", DType.F32, new long[] {1}, -8, 4));
  }
}
