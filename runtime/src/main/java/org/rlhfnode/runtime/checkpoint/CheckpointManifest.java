package org.rlhfnode.runtime.checkpoint;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;
import org.rlhfnode.runtime.io.CheckpointFormatException;

/**
 * {@code manifest.json}, the last file written into a checkpoint directory: which files the
 * checkpoint consists of, with their sizes and SHA-256 checksums, plus the tag, the step and the
 * format version. A checkpoint directory without it is incomplete by definition.
 *
 * @param formatVersion layout version of the checkpoint ({@link #FORMAT_VERSION} for this code)
 * @param tag the directory name, e.g. {@code global_step_40}
 * @param step optimizer steps completed
 * @param createdAt ISO-8601 instant of the save, informational
 * @param files every file of the checkpoint except the manifest, sorted by path
 */
public record CheckpointManifest(int formatVersion, String tag, long step, String createdAt, List<FileEntry> files) {
  /** The manifest's file name. */
  public static final String FILE_NAME = "manifest.json";
  /** The layout this code writes and reads. */
  public static final int FORMAT_VERSION = 1;
  private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");

  /**
   * One file of a checkpoint.
   *
   * @param path relative to the checkpoint directory, '/'-separated, never leaving it
   * @param size length in bytes
   * @param sha256 lower-case hex SHA-256 of the content
   */
  public record FileEntry(String path, long size, String sha256) {
    public FileEntry {
      Objects.requireNonNull(path, "path");
      Objects.requireNonNull(sha256, "sha256");
      Path p = Path.of(path);
      if (path.isEmpty() || p.isAbsolute() || !p.normalize().equals(p) || p.startsWith("..")
          || path.contains("\\")) {
        throw new IllegalArgumentException("path '" + path + "' must be relative and stay inside the checkpoint");
      }
      if (size < 0) {
        throw new IllegalArgumentException(path + ": size must be ≥ 0, got " + size);
      }
      if (!SHA256.matcher(sha256).matches()) {
        throw new IllegalArgumentException(path + ": sha256 must be 64 lower-case hex digits, got '" + sha256 + "'");
      }
    }
  }

  public CheckpointManifest {
    Objects.requireNonNull(tag, "tag");
    Objects.requireNonNull(createdAt, "createdAt");
    files = List.copyOf(files);
    Set<String> seen = new HashSet<>();
    for (FileEntry f : files) {
      if (!seen.add(f.path())) {
        throw new IllegalArgumentException("file '" + f.path() + "' is listed twice");
      }
    }
  }

  /** The entry for {@code path}, or null. */
  public FileEntry file(String path) {
    return files.stream().filter(f -> f.path().equals(path)).findFirst().orElse(null);
  }

  /** Sum of all file sizes. */
  public long totalBytes() {
    return files.stream().mapToLong(FileEntry::size).sum();
  }

  /** The pretty-printed JSON bytes. */
  byte[] toBytes() {
    ObjectNode root = StateJson.MAPPER.createObjectNode();
    root.put("format_version", formatVersion);
    root.put("tag", tag);
    root.put("step", step);
    root.put("created_at", createdAt);
    ArrayNode list = root.putArray("files");
    for (FileEntry f : files) {
      list.addObject().put("path", f.path()).put("size", f.size()).put("sha256", f.sha256());
    }
    try {
      return StateJson.MAPPER.writeValueAsBytes(root);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot encode manifest: " + e.getOriginalMessage(), e);
    }
  }

  /**
   * Reads and validates a manifest file.
   *
   * @throws CheckpointFormatException naming the file and the first problem, including an unsupported version
   */
  public static CheckpointManifest read(Path file) {
    JsonNode root = StateJson.readTree(file);
    long version = StateJson.integer(file, root, "format_version");
    if (version != FORMAT_VERSION) {
      throw new CheckpointFormatException(file, "format_version " + version + " is not supported (expected "
          + FORMAT_VERSION + ")");
    }
    JsonNode list = StateJson.required(file, root, "files");
    if (!list.isArray()) {
      throw new CheckpointFormatException(file, "field 'files' must be an array");
    }
    try {
      List<FileEntry> files = new ArrayList<>();
      for (JsonNode f : list) {
        files.add(new FileEntry(StateJson.required(file, f, "path").asText(), StateJson.integer(file, f, "size"),
            StateJson.required(file, f, "sha256").asText()));
      }
      return new CheckpointManifest((int) version, StateJson.required(file, root, "tag").asText(),
          StateJson.integer(file, root, "step"), StateJson.required(file, root, "created_at").asText(), files);
    } catch (IllegalArgumentException e) {
      throw new CheckpointFormatException(file, e.getMessage(), e);
    }
  }
}
