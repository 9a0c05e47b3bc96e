package org.rlhfnode.runtime.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.rlhfnode.runtime.data.DataTestSupport.JSON;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.regex.Pattern;
import javax.xml.parsers.DocumentBuilderFactory;
import org.apache.parquet.hadoop.metadata.CompressionCodecName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

/**
 * rlhf-node.jar carries only the few Hadoop classes that parquet-hadoop's reader links (the hadoop
 * filters of roles/pom.xml). This test reads those filters, builds a class loader from the test class
 * path with the Hadoop jars replaced by exactly the listed classes, and reads Parquet files through
 * {@link DatasetReader} in it: if a parquet upgrade or a new code path needs another Hadoop class, this
 * fails here rather than in a user's run.
 */
class ParquetHadoopClassesTest {
  @TempDir
  Path dir;

  @Test
  void parquetFilesReadWithOnlyTheHadoopClassesTheJarShips() throws Exception {
    Map<String, List<String>> includes = hadoopIncludes(Path.of(System.getProperty("rlhf.repo", ".."))
        .resolve("roles/pom.xml"));
    assertEquals(List.of("hadoop-common", "hadoop-mapreduce-client-core"), List.copyOf(includes.keySet()));
    Path classes = Files.createDirectories(dir.resolve("hadoop-classes"));
    List<URL> urls = new ArrayList<>();
    int hadoopJars = 0;
    for (String entry : classPath()) {
      String name = Path.of(entry).getFileName().toString();
      String artifact = includes.keySet().stream().filter(a -> name.startsWith(a + "-")).findFirst().orElse(null);
      if (artifact == null) {
        urls.add(Path.of(entry).toUri().toURL());
      } else {
        hadoopJars++;
        extract(Path.of(entry), includes.get(artifact), classes);
      }
    }
    assertEquals(2, hadoopJars, "both Hadoop jars are on the test class path");
    urls.add(classes.toUri().toURL());
    List<Path> files = new ArrayList<>();
    for (CompressionCodecName codec : List.of(CompressionCodecName.SNAPPY, CompressionCodecName.ZSTD,
        CompressionCodecName.GZIP)) {
      ObjectNode row = JSON.createObjectNode().put("input", "hello " + codec).put("n", 7);
      row.putArray("messages").addObject().put("role", "user").put("content", "hi");
      files.add(ParquetFixtures.write(dir.resolve(codec + ".parquet"), ParquetFixtures.SCHEMA, List.of(row), codec));
    }
    try (URLClassLoader loader = new URLClassLoader(urls.toArray(URL[]::new), ClassLoader.getPlatformClassLoader())) {
      Class<?> reader = loader.loadClass(DatasetReader.class.getName());
      assertFalse(reader == DatasetReader.class, "the reader must come from the restricted loader");
      for (Path f : files) {
        String records = String.valueOf(reader.getMethod("read", Path.class).invoke(null, f));
        String codec = f.getFileName().toString().replace(".parquet", "");
        assertEquals("[" + f + ":1 {\"input\":\"hello " + codec + "\",\"output\":null,\"messages\":[{\"role\":"
            + "\"user\",\"content\":\"hi\"}],\"label\":null,\"margin\":null,\"n\":7}]", records);
      }
    }
  }

  private static List<String> classPath() {
    String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    List<String> out = new ArrayList<>();
    for (String e : cp.split(File.pathSeparator)) {
      if (!e.isBlank()) {
        out.add(e);
      }
    }
    return out;
  }

  /** artifactId → include patterns of the shade filters on {@code org.apache.hadoop:*} artifacts. */
  private static Map<String, List<String>> hadoopIncludes(Path pom) throws Exception {
    assertTrue(Files.isRegularFile(pom), pom + " not found (set -Drlhf.repo)");
    NodeList filters = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(pom.toFile())
        .getElementsByTagName("filter");
    Map<String, List<String>> out = new LinkedHashMap<>();
    for (int i = 0; i < filters.getLength(); i++) {
      Element filter = (Element) filters.item(i);
      String artifact = filter.getElementsByTagName("artifact").item(0).getTextContent().trim();
      if (artifact.startsWith("org.apache.hadoop:")) {
        NodeList inc = filter.getElementsByTagName("include");
        List<String> patterns = new ArrayList<>();
        for (int j = 0; j < inc.getLength(); j++) {
          patterns.add(inc.item(j).getTextContent().trim());
        }
        out.put(artifact.substring(artifact.indexOf(':') + 1), patterns);
      }
    }
    return out;
  }

  /** Copies the entries of {@code jar} that match the shade include globs ({@code *} within a name) to {@code to}. */
  private static void extract(Path jar, List<String> globs, Path to) throws IOException {
    List<Pattern> patterns = globs.stream()
        .map(g -> Pattern.compile(Pattern.quote(g).replace("*", "\\E[^/]*\\Q"))).toList();
    int copied = 0;
    try (JarFile file = new JarFile(jar.toFile())) {
      for (Enumeration<JarEntry> e = file.entries(); e.hasMoreElements();) {
        JarEntry entry = e.nextElement();
        if (patterns.stream().anyMatch(p -> p.matcher(entry.getName()).matches())) {
          Path target = to.resolve(entry.getName());
          Files.createDirectories(target.getParent());
          try (InputStream in = file.getInputStream(entry)) {
            Files.copy(in, target);
          }
          copied++;
        }
      }
    }
    assertTrue(copied >= globs.size(), jar + ": some include patterns match nothing");
  }
}
