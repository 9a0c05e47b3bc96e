package org.rlhfnode.runtime.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.bytedeco.pytorch.GeneratorOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.function.Executable;
import org.rlhfnode.runtime.io.CheckpointFormatException;
import org.rlhfnode.runtime.tensor.NativeTensors;
import org.rlhfnode.runtime.tensor.Tensors;
import org.slf4j.LoggerFactory;

/** Tiny tensors, byte-level comparisons and log capture for the checkpoint tests. */
final class CheckpointTestSupport {
  private CheckpointTestSupport() {}

  /** A few weights of mixed dtypes and shapes, drawn from a seeded generator; in the caller's scope. */
  static Map<String, Tensor> weights(long seed) {
    GeneratorOptional gen = new GeneratorOptional(torch.createCPUGenerator(seed));
    Map<String, Tensor> w = new LinkedHashMap<>();
    w.put("model.embed_tokens.weight", torch.randn(new long[] {16, 8}, gen, new TensorOptions(ScalarType.Float)));
    w.put("model.layers.0.mlp.up_proj.weight",
        torch.randn(new long[] {12, 8}, gen, new TensorOptions(ScalarType.Float)).to(ScalarType.BFloat16));
    w.put("model.norm.weight", torch.randn(new long[] {8}, gen, new TensorOptions(ScalarType.Float)));
    w.put("lm_head.bias", Tensors.floats(new float[] {Float.NaN, -0.0f, Float.MIN_VALUE}, 3));
    return w;
  }

  /** A training state at {@code step} with every kind of field filled in. */
  static TrainingState state(long step) {
    Map<String, Object> cursor = new LinkedHashMap<>();
    cursor.put("epoch_offset", 3 * step);
    cursor.put("shuffle_perm_seed", 1234);
    cursor.put("datasets", List.of(Map.of("name", "a.jsonl", "line", 17), Map.of("name", "b.jsonl", "line", 4)));
    cursor.put("ratio", 0.25);
    cursor.put("note", null);
    RngState rng = RngState.capture(42, Map.of("dropout", step * 2, "shuffle", step),
        torch.createCPUGenerator(42 + step));
    Map<String, Object> meta = new LinkedHashMap<>();
    meta.put("consumed_samples", step * 8);
    meta.put("best_eval_loss", 1.5);
    meta.put("algo", "sft");
    meta.put("lora", false);
    return new TrainingState(step, step / 10, cursor, rng, step, meta);
  }

  /** The raw bytes of a tensor (any dtype), contiguous CPU copy. */
  static byte[] bytes(Tensor t) {
    Tensor cpu = t.contiguous();
    byte[] out = new byte[Math.toIntExact(cpu.nbytes())];
    NativeTensors.bytes(cpu, 0, out.length).get(out);
    return out;
  }

  /** Asserts the two maps have the same names, in the same dtype and shape, with identical bytes. */
  static void assertBitIdentical(Map<String, Tensor> expected, Map<String, Tensor> actual) {
    assertEquals(expected.keySet().stream().sorted().collect(Collectors.toList()),
        List.copyOf(actual.keySet()), "tensor names (loaded sorted)");
    for (Map.Entry<String, Tensor> e : expected.entrySet()) {
      Tensor got = actual.get(e.getKey());
      assertEquals(e.getValue().scalar_type().intern(), got.scalar_type().intern(), e.getKey() + " dtype");
      assertArrayEquals(Tensors.shape(e.getValue()), Tensors.shape(got), e.getKey() + " shape");
      assertArrayEquals(bytes(e.getValue()), bytes(got), e.getKey() + " bytes");
    }
  }

  /** Flips the lowest bit of the file's last byte, keeping its size. */
  static void flipLastByte(Path file) throws IOException {
    byte[] b = Files.readAllBytes(file);
    b[b.length - 1] ^= 0x01;
    Files.write(file, b);
  }

  /** Asserts {@code load} fails with a one-line checksum error naming {@code file}. */
  static void assertChecksumMismatch(Path file, Executable load) {
    CheckpointFormatException e = assertThrows(CheckpointFormatException.class, load);
    assertEquals(file, e.file());
    assertTrue(e.getMessage().startsWith(file + ": SHA-256 mismatch"), e.getMessage());
    assertFalse(e.getMessage().contains("\n"));
  }

  /** Non-hidden and hidden entries of {@code dir}, by name, sorted. */
  static List<String> names(Path dir) {
    try (Stream<Path> s = Files.list(dir)) {
      return s.map(p -> p.getFileName().toString()).sorted().collect(Collectors.toList());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Collects what a logger writes while a test runs. */
  static final class LogCapture implements AutoCloseable {
    private final Logger logger;
    private final ListAppender<ILoggingEvent> appender = new ListAppender<>();

    LogCapture(Class<?> source) {
      logger = (Logger) LoggerFactory.getLogger(source);
      appender.start();
      logger.addAppender(appender);
    }

    /** Formatted WARN messages so far. */
    List<String> warnings() {
      return appender.list.stream().filter(e -> e.getLevel() == Level.WARN).map(ILoggingEvent::getFormattedMessage)
          .collect(Collectors.toList());
    }

    @Override
    public void close() {
      logger.detachAppender(appender);
    }
  }
}
