package org.rlhfnode.runtime.tensor;

import java.io.File;
import java.io.IOException;
import java.net.URL;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.ClassProperties;
import org.bytedeco.javacpp.Loader;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Loads the libtorch that the JavaCPP presets bundle (2.10), and only that one, whatever libtorch the
 * machine has installed. {@link NativeEnvironment#prepare()} calls {@link #load()} before the first
 * libtorch class is touched.
 *
 * <p>Why: JavaCPP's {@code Loader.load} works through the preset's libraries in declaration order
 * ({@code gomp}, then {@code c10}, {@code torch}, {@code torch_cpu}) and extracts each from the jar
 * into its cache just before it {@code dlopen}s it. So {@code libtorch.so} is opened while
 * {@code libtorch_cpu.so}, its {@code DT_NEEDED} entry, is neither loaded nor extracted yet, and the
 * dynamic linker looks for it elsewhere: {@code LD_LIBRARY_PATH}, then {@code $ORIGIN} (the half-filled
 * cache), then {@code /etc/ld.so.cache}. On Debian with {@code python3-torch} (which pulls in
 * {@code libtorch-dev}) that finds {@code /usr/lib/x86_64-linux-gnu/libtorch_cpu.so}, PyTorch 1.13,
 * which drags in the system {@code libc10.so.1.13} as well; both sit beside the bundled 2.10 ones and
 * the JVM dies with SIGSEGV on the first start with an empty cache. Later starts find a full cache
 * under {@code $ORIGIN}, unless {@code LD_LIBRARY_PATH} names another libtorch, which the linker
 * searches first. Where the lookup fails instead, JavaCPP falls back to {@code System.loadLibrary},
 * which searches {@code java.library.path} (again the system directories). JavaCPP's properties
 * ({@code pathsFirst}, {@code platform.preloadpath}) only change where it looks, not this order.
 *
 * <p>So this class does what {@code Loader.load} does for the preset, with two differences: it
 * extracts every bundled library before opening any, and it opens libtorch's own libraries leaf
 * first ({@link #DEPENDENCY_ORDER}). Every {@code DT_NEEDED} entry then names a library that is
 * already loaded, and the linker matches it by soname without searching. JavaCPP records each file
 * it loaded, so its own pass later loads nothing twice. When the bundle is the CPU build, it also sets
 * {@code org.bytedeco.javacpp.platform.extension} to empty (unless the user set it): otherwise JavaCPP
 * tries the GPU build's libraries too ({@code c10_cuda}, {@code torch_cuda}, the CUDA runtime) and,
 * not finding them in the jar, loads whatever copies {@code java.library.path} holds.
 */
public final class NativeLibraries {
  /** libtorch's own libraries, each after every one of them it links against ({@code DT_NEEDED}). */
  static final List<String> DEPENDENCY_ORDER = List.of("c10", "c10_cuda", "torch_cpu", "torch_cuda", "torch");

  /** JavaCPP's switch between the CPU build (no extension) and the GPU build ({@code -gpu}). */
  static final String EXTENSION_PROPERTY = "org.bytedeco.javacpp.platform.extension";

  private static final Logger log = LoggerFactory.getLogger(NativeLibraries.class);
  private static final Class<?> PRESET = org.bytedeco.pytorch.presets.torch.class;

  private static List<String> loaded;

  private NativeLibraries() {}

  /**
   * Loads the bundled libtorch as described above; idempotent. Returns the files loaded, empty if
   * JavaCPP is told not to load libraries or the cache is unusable; in that case nothing is loaded and
   * JavaCPP's own loading reports the problem when libtorch is first used.
   */
  public static synchronized List<String> load() {
    if (loaded != null) {
      return loaded;
    }
    loaded = List.of();
    if (!Loader.isLoadLibraries()) {
      return loaded;
    }
    selectBundledBuild();
    ClassProperties p = Loader.loadProperties(PRESET, Loader.loadProperties(), true);
    initInheritedPresets(p);
    List<String> names = inDependencyOrder(concat(p.get("platform.preload"), p.get("platform.link")));
    List<URL[]> urls = new ArrayList<>();
    for (String name : names) {
      urls.add(Loader.findLibrary(PRESET, p, stripGlobal(name)));
    }
    try {
      extractAll(urls);
      loaded = List.copyOf(loadAll(p, names, urls));
    } catch (IOException e) {
      log.warn("could not extract the bundled libtorch into the JavaCPP cache: {}", e.toString());
    }
    return loaded;
  }

  /** Tells JavaCPP which build the jar holds, so that it does not look for the other one elsewhere. */
  private static void selectBundledBuild() {
    if (System.getProperty(EXTENSION_PROPERTY) != null) {
      return;
    }
    String gpuLibrary = "/org/bytedeco/pytorch/" + Loader.getPlatform() + "-gpu/" + System.mapLibraryName("jnitorch");
    if (PRESET.getResource(gpuLibrary) == null) {
      System.setProperty(EXTENSION_PROPERTY, "");
      Loader.loadProperties(true);
    }
  }

  /** Loads the presets libtorch's preset inherits (openblas), as {@code Loader.load} does first. */
  private static void initInheritedPresets(ClassProperties p) {
    for (String global : p.get("global")) {
      if (global.startsWith("org.bytedeco.pytorch.")) {
        continue;
      }
      try {
        Class.forName(global, true, PRESET.getClassLoader());
      } catch (ClassNotFoundException e) {
        log.debug("preset class {} absent", global);
      }
    }
  }

  /** Extracts the first bundled (in-jar) candidate of every library, before anything is opened. */
  private static void extractAll(List<URL[]> urls) throws IOException {
    for (URL[] candidates : urls) {
      for (URL u : candidates) {
        if (!"file".equals(u.getProtocol())) {
          Loader.cacheResource(u);
          break;
        }
      }
    }
  }

  /** The preload loop of {@code Loader.load}, over {@code names} in the order given. */
  private static List<String> loadAll(ClassProperties p, List<String> names, List<URL[]> urls) throws IOException {
    String cacheDir = Loader.getCacheDir().toString();
    List<String> preloaded = new ArrayList<>();
    for (int i = 0; i < names.size(); i++) {
      String name = stripGlobal(names.get(i));
      try {
        String file = Loader.loadLibrary(PRESET, urls.get(i), name, preloaded.toArray(new String[0]));
        if (file != null && new File(file).exists()) {
          preloaded.add(file);
          if (file.startsWith(cacheDir)) {
            Loader.createLibraryLink(file, p, name);
          }
        }
      } catch (UnsatisfiedLinkError e) {
        // optional libraries (CUDA ones on a machine without CUDA) fail here as inside Loader.load
        log.debug("not loaded: {}: {}", name, e.getMessage());
      }
    }
    log.debug("bundled native libraries loaded: {}", preloaded);
    return preloaded;
  }

  /** {@code names} with libtorch's own libraries moved, among their own slots, into dependency order. */
  static List<String> inDependencyOrder(List<String> names) {
    List<String> ordered = new ArrayList<>();
    for (String lib : DEPENDENCY_ORDER) {
      for (String name : names) {
        if (baseName(name).equals(lib)) {
          ordered.add(name);
        }
      }
    }
    List<String> result = new ArrayList<>(names);
    int next = 0;
    for (int i = 0; i < result.size(); i++) {
      if (DEPENDENCY_ORDER.contains(baseName(result.get(i)))) {
        result.set(i, ordered.get(next++));
      }
    }
    return result;
  }

  /** The library name without JavaCPP's decorations: {@code gomp@.1} is {@code gomp}. */
  private static String baseName(String name) {
    return stripGlobal(name).split("[@#:]", 2)[0];
  }

  /** Without the trailing {@code !}; JavaCPP's own pass later opens such libraries globally. */
  private static String stripGlobal(String name) {
    return name.endsWith("!") ? name.substring(0, name.length() - 1) : name;
  }

  private static List<String> concat(List<String> a, List<String> b) {
    List<String> all = new ArrayList<>(a);
    for (String s : b) {
      if (!all.contains(s)) {
        all.add(s);
      }
    }
    return all;
  }
}
