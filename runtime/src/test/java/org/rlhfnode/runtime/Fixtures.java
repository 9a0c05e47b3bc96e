package org.rlhfnode.runtime;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Locates {@code ../shared/fixtures} (surefire passes it as {@code rlhf.fixtures}) and reads JSON. */
public final class Fixtures {
  private static final ObjectMapper JSON = new ObjectMapper();

  private Fixtures() {}

  /** The fixtures root; fails (never skips) when it is missing, since CI always has it. */
  public static Path root() {
    String p = System.getProperty("rlhf.fixtures", "../../shared/fixtures");
    Path root = Path.of(p).toAbsolutePath().normalize();
    assertTrue(Files.isDirectory(root), "fixtures not found at " + root + " (set -Drlhf.fixtures)");
    return root;
  }

  /** {@code hf-tiny/<name>}. */
  public static Path hfTiny(String name) {
    return root().resolve("hf-tiny").resolve(name);
  }

  /** Parses a JSON file. */
  public static JsonNode json(Path file) {
    try {
      return JSON.readTree(file.toFile());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A JSON array of numbers as floats. */
  public static float[] floats(JsonNode array) {
    float[] out = new float[array.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = (float) array.get(i).asDouble();
    }
    return out;
  }

  /** A JSON array of integers as longs. */
  public static long[] longs(JsonNode array) {
    long[] out = new long[array.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = array.get(i).asLong();
    }
    return out;
  }

  /** Row-major flattening of a JSON matrix of integers. */
  public static long[] flatLongs(JsonNode matrix) {
    int rows = matrix.size();
    int cols = matrix.get(0).size();
    long[] out = new long[rows * cols];
    for (int r = 0; r < rows; r++) {
      System.arraycopy(longs(matrix.get(r)), 0, out, r * cols, cols);
    }
    return out;
  }

  /** Largest |a - b| over two equal-length arrays. */
  public static double maxAbsDiff(float[] a, float[] b) {
    assertTrue(a.length == b.length, "length " + a.length + " != " + b.length);
    double max = 0;
    for (int i = 0; i < a.length; i++) {
      max = Math.max(max, Math.abs((double) a[i] - b[i]));
    }
    return max;
  }
}
