package org.rlhfnode.runtime.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.GeneratorOptional;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rlhfnode.runtime.io.CheckpointFormatException;
import org.rlhfnode.runtime.tensor.Tensors;

class TrainingStateTest {
  @TempDir
  Path dir;

  @Test
  void jsonRoundTripEqualsTheOriginal() throws Exception {
    try (PointerScope scope = new PointerScope()) {
      TrainingState st = CheckpointTestSupport.state(12);
      Path file = dir.resolve(StateJson.FILE_NAME);
      Files.write(file, StateJson.toBytes(st));
      TrainingState back = StateJson.read(file);
      assertEquals(st, back);
      assertEquals(Long.valueOf(1234), back.dataCursor().get("shuffle_perm_seed"), "integers come back as Long");
      assertNotNull(back.rng().generatorState());
    }
  }

  @Test
  void restoredGeneratorContinuesTheSameRandomStream() {
    try (PointerScope scope = new PointerScope()) {
      Generator gen = torch.createCPUGenerator(7);
      torch.randn(new long[] {5}, new GeneratorOptional(gen)); // advance past the seed state
      RngState saved = RngState.capture(7, Map.of("step", 1L), gen);
      float[] expected = Tensors.toFloats(torch.randn(new long[] {9}, new GeneratorOptional(gen)));

      Generator fresh = torch.createCPUGenerator(999);
      saved.restoreInto(fresh);
      assertArrayEquals(expected, Tensors.toFloats(torch.randn(new long[] {9}, new GeneratorOptional(fresh))));
    }
  }

  @Test
  void rejectsValuesThatAreNotJson() {
    RngState rng = RngState.of(1, Map.of());
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> TrainingState.at(1, 0, Map.of("files", List.of(Path.of("a"))), rng));
    assertTrue(e.getMessage().contains("dataCursor.files[0]"), e.getMessage());
    assertThrows(IllegalArgumentException.class,
        () -> new TrainingState(1, 0, Map.of(), rng, 1, Map.of("nested", Map.of("a", 1))));
    assertThrows(IllegalArgumentException.class,
        () -> new TrainingState(1, 0, Map.of("loss", Double.NaN), rng, 1, Map.of()));
    assertThrows(IllegalArgumentException.class, () -> TrainingState.at(-1, 0, Map.of(), rng));
  }

  @Test
  void malformedStateFileNamesTheFieldAndTheFile() throws Exception {
    Path file = dir.resolve(StateJson.FILE_NAME);
    Files.writeString(file, "{\"format_version\": 1, \"step\": 3, \"epoch\": 0}");
    CheckpointFormatException e = assertThrows(CheckpointFormatException.class, () -> StateJson.read(file));
    assertTrue(e.getMessage().startsWith(file + ": missing field"), e.getMessage());
    Files.writeString(file, "{\"format_version\": 9}");
    assertTrue(assertThrows(CheckpointFormatException.class, () -> StateJson.read(file)).getMessage()
        .contains("format_version 9 is not supported"));
  }
}
