package org.rlhfnode.runtime.tensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;

/**
 * Child-JVM entry point of {@link NativeLibrariesTest}: prepares the native environment the way
 * {@code Main} does, adds two tensors in libtorch, prints the sum and then every file mapped into the
 * process ({@code /proc/self/maps}), one per line prefixed {@code mapped }.
 */
public final class NativeLibrariesProbe {
  private NativeLibrariesProbe() {}

  public static void main(String[] args) throws IOException {
    NativeEnvironment.prepare();
    try (PointerScope scope = new PointerScope()) {
      Tensor sum = Tensors.floats(new float[] {1, 2}, 2).add(Tensors.floats(new float[] {3, 4}, 2));
      float[] out = Tensors.toFloats(sum); // [2] expected 4, 6
      System.out.println("sum " + out[0] + " " + out[1]);
    }
    Files.readAllLines(Path.of("/proc/self/maps")).stream()
        .map(line -> line.split("\\s+", 6))
        .filter(fields -> fields.length == 6 && fields[5].startsWith("/"))
        .map(fields -> fields[5])
        .distinct()
        .forEach(file -> System.out.println("mapped " + file));
  }
}
