package org.rlhfnode.runtime.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Only the bundled libtorch may load, whatever the machine has installed (see {@link NativeLibraries}).
 * CI has no system libtorch, so the test plants one: inert shared objects named like libtorch's
 * libraries, in a directory on {@code LD_LIBRARY_PATH}, which the dynamic linker searches before the
 * cache and from which the JVM builds {@code java.library.path}. A child JVM with an empty JavaCPP
 * cache then runs a libtorch op; any decoy it picked up shows in its {@code /proc/self/maps}.
 */
class NativeLibrariesTest {
  private static final List<String> DECOYS = List.of(
      "libc10.so", "libc10_cuda.so", "libtorch_cpu.so", "libtorch_cuda.so", "libtorch.so", "libgomp.so.1");
  private static final long TIMEOUT_S = 120;

  @Test
  void loadsOnlyTheBundledLibtorchOnAFirstStartWithForeignCopiesOnTheSearchPath(@TempDir Path tmp)
      throws IOException, InterruptedException {
    Path decoys = plantDecoys(tmp.resolve("decoys"));
    Path cache = Files.createDirectory(tmp.resolve("javacpp-cache"));

    ProcessBuilder child = new ProcessBuilder(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Dorg.bytedeco.javacpp.cachedir=" + cache,
        "-cp", System.getProperty("java.class.path"),
        NativeLibrariesProbe.class.getName());
    child.environment().put("LD_LIBRARY_PATH", decoys.toString());
    child.redirectErrorStream(true);
    Path log = tmp.resolve("child.log");
    child.redirectOutput(log.toFile());
    Process process = child.start();
    boolean finished = process.waitFor(TIMEOUT_S, TimeUnit.SECONDS);
    if (!finished) {
      process.destroyForcibly();
    }
    String output = Files.readString(log, StandardCharsets.UTF_8);

    assertTrue(finished, "child JVM still running after " + TIMEOUT_S + " s:\n" + output);
    assertEquals(0, process.exitValue(), "child JVM failed:\n" + output);
    assertTrue(output.contains("sum 4.0 6.0"), "no libtorch result:\n" + output);
    List<String> mapped = output.lines()
        .filter(line -> line.startsWith("mapped "))
        .map(line -> line.substring("mapped ".length()))
        .collect(Collectors.toList());
    List<String> foreign = mapped.stream().filter(f -> f.startsWith(decoys.toString())).collect(Collectors.toList());
    assertEquals(List.of(), foreign, "decoy libraries were loaded");
    for (String lib : List.of("libc10.so", "libtorch_cpu.so", "libtorch.so", "libgomp.so.1")) {
      assertTrue(mapped.stream().anyMatch(f -> f.startsWith(cache.toString()) && f.endsWith(File.separator + lib)),
          lib + " not loaded from the JavaCPP cache " + cache + ":\n" + String.join("\n", mapped));
    }
  }

  @Test
  void ordersLibtorchLeafFirstWithinItsOwnSlots() {
    List<String> javacppOrder = List.of("cudart@.13", "gomp@.1", "c10_cuda", "torch_cuda", "nvToolsExt@.1",
        "openblas@.0", "c10", "torch", "torch_cpu");
    assertEquals(List.of("cudart@.13", "gomp@.1", "c10", "c10_cuda", "nvToolsExt@.1",
        "openblas@.0", "torch_cpu", "torch_cuda", "torch"), NativeLibraries.inDependencyOrder(javacppOrder));
    assertEquals(List.of("gomp@.1", "openblas@.0", "c10", "torch_cpu", "torch"),
        NativeLibraries.inDependencyOrder(List.of("gomp@.1", "openblas@.0", "c10", "torch", "torch_cpu")));
  }

  /** Copies of a harmless JDK library (no torch symbols) under libtorch's file names. */
  private static Path plantDecoys(Path dir) throws IOException {
    Path inert = Path.of(System.getProperty("java.home"), "lib", "libsyslookup.so");
    assertTrue(Files.isRegularFile(inert), "no " + inert + " to copy as a decoy");
    Files.createDirectories(dir);
    for (String name : DECOYS) {
      Files.copy(inert, dir.resolve(name));
    }
    return dir;
  }
}
