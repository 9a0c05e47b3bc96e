package org.rlhfnode.runtime.io;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.ReadOnlyBufferException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.Optional;

/**
 * One open safetensors file: the validated header, and zero-copy read access to the tensor bytes
 * through a read-only memory map.
 *
 * <p>{@link #open} reads and checks only the header; the data section is mapped on the first
 * {@link #data} or {@code copyTo} call. Reads are safe from several threads. Buffers handed out
 * stay valid after {@link #close} (a mapping does not depend on its channel) until they are
 * garbage-collected; the file must not be truncated while they are in use.
 */
public final class SafetensorsFile implements AutoCloseable {
  /** Largest region {@code copyTo} maps at once, so that no single mapping needs a huge address range. */
  static final long COPY_CHUNK_BYTES = 1L << 30;

  private final Path path;
  private final FileChannel channel;
  private final SafetensorsHeader header;
  private final Map<String, TensorInfo> byName;
  private final long dataSize;
  // The whole data section, mapped on first use when it fits in one buffer; guarded by this for writes.
  private volatile MappedByteBuffer dataMap;
  private volatile boolean closed;

  private SafetensorsFile(Path path, FileChannel channel, SafetensorsHeader header) throws IOException {
    this.path = path;
    this.channel = channel;
    this.header = header;
    this.dataSize = channel.size() - header.dataStart();
    Map<String, TensorInfo> index = new LinkedHashMap<>();
    for (TensorInfo t : header.tensors()) {
      index.put(t.name(), t);
    }
    this.byName = index;
  }

  /**
   * Opens {@code file} and validates its header.
   *
   * @throws CheckpointFormatException if the file is not a well-formed safetensors file
   * @throws UncheckedIOException if it cannot be read (for example, it does not exist)
   */
  public static SafetensorsFile open(Path file) {
    Objects.requireNonNull(file, "file");
    FileChannel ch = null;
    try {
      ch = FileChannel.open(file, StandardOpenOption.READ);
      return new SafetensorsFile(file, ch, SafetensorsHeader.read(file, ch));
    } catch (IOException e) {
      closeQuietly(ch, e);
      throw new UncheckedIOException("cannot read safetensors file " + file + ": " + e, e);
    } catch (RuntimeException e) {
      closeQuietly(ch, e);
      throw e;
    }
  }

  /**
   * Closes every file of {@code files} (null entries skipped), even when one fails; the first failure is
   * thrown with the later ones suppressed.
   */
  public static void closeAll(Iterable<SafetensorsFile> files) {
    RuntimeException failure = null;
    for (SafetensorsFile f : files) {
      try {
        if (f != null) {
          f.close();
        }
      } catch (RuntimeException e) {
        if (failure == null) {
          failure = e;
        } else {
          failure.addSuppressed(e);
        }
      }
    }
    if (failure != null) {
      throw failure;
    }
  }

  private static void closeQuietly(FileChannel ch, Exception primary) {
    if (ch != null) {
      try {
        ch.close();
      } catch (IOException e) {
        primary.addSuppressed(e);
      }
    }
  }

  /** The file as given to {@link #open}. */
  public Path path() {
    return path;
  }

  /** The header's {@code __metadata__} in file order (empty if there is none); unmodifiable. */
  public Map<String, String> metadata() {
    return header.metadata();
  }

  /** All tensors in header order; unmodifiable. */
  public List<TensorInfo> tensors() {
    return header.tensors();
  }

  /** The tensor called {@code name}, if the file has one. */
  public Optional<TensorInfo> find(String name) {
    return Optional.ofNullable(byName.get(name));
  }

  /**
   * The bytes of tensor {@code name}: a read-only, little-endian slice of the memory map, position 0
   * and limit its byte length. No bytes are copied.
   *
   * @throws NoSuchElementException if there is no such tensor
   * @throws IllegalArgumentException if the tensor has more than {@link Integer#MAX_VALUE} bytes (use {@code copyTo})
   */
  public ByteBuffer data(String name) {
    TensorInfo t = require(name);
    if (t.byteLength() > Integer.MAX_VALUE) {
      throw new IllegalArgumentException(path + ": tensor '" + name + "' has " + t.byteLength()
          + " bytes, more than one ByteBuffer can hold; use copyTo");
    }
    return region(t.byteOffset(), (int) t.byteLength());
  }

  /**
   * Copies the bytes of tensor {@code name} into {@code dst} at its position and advances the
   * position by the tensor's byte length. The file is mapped in chunks of at most 1 GiB and each
   * is copied with one bulk {@code put}. A ByteBuffer holds at most 2 GiB - 1 bytes; copy larger
   * tensors window by window with {@link #copyTo(String, long, ByteBuffer)}.
   *
   * @throws NoSuchElementException if there is no such tensor
   * @throws IllegalArgumentException if {@code dst} has fewer bytes remaining than the tensor has
   * @throws ReadOnlyBufferException if {@code dst} is read-only
   */
  public void copyTo(String name, ByteBuffer dst) {
    TensorInfo t = require(name);
    if (dst.remaining() < t.byteLength()) {
      throw new IllegalArgumentException(path + ": tensor '" + name + "' has " + t.byteLength()
          + " bytes but the destination has only " + dst.remaining() + " remaining");
    }
    copyBytes(t, 0, t.byteLength(), dst, COPY_CHUNK_BYTES);
  }

  /**
   * Copies {@code dst.remaining()} bytes of tensor {@code name}, starting at byte
   * {@code tensorOffset} of the tensor, into {@code dst} and advances its position: the way to
   * fill native memory for a tensor of more than 2 GiB, one window at a time.
   *
   * @throws NoSuchElementException if there is no such tensor
   * @throws IndexOutOfBoundsException if the window does not lie within the tensor
   * @throws ReadOnlyBufferException if {@code dst} is read-only
   */
  public void copyTo(String name, long tensorOffset, ByteBuffer dst) {
    copyRange(name, tensorOffset, dst, COPY_CHUNK_BYTES);
  }

  /** {@link #copyTo(String, long, ByteBuffer)} with a chosen chunk size, so tests can cross chunks cheaply. */
  void copyRange(String name, long tensorOffset, ByteBuffer dst, long chunkBytes) {
    TensorInfo t = require(name);
    if (tensorOffset < 0 || tensorOffset > t.byteLength() - dst.remaining()) {
      throw new IndexOutOfBoundsException(path + ": bytes [" + tensorOffset + ", " + tensorOffset + " + "
          + dst.remaining() + ") are not within tensor '" + name + "' of " + t.byteLength() + " bytes");
    }
    copyBytes(t, tensorOffset, dst.remaining(), dst, chunkBytes);
  }

  private void copyBytes(TensorInfo t, long from, long count, ByteBuffer dst, long chunkBytes) {
    if (dst.isReadOnly()) {
      throw new ReadOnlyBufferException();
    }
    long done = 0;
    while (done < count) {
      int n = (int) Math.min(Math.min(chunkBytes, Integer.MAX_VALUE), count - done);
      dst.put(region(t.byteOffset() + from + done, n));
      done += n;
    }
  }

  private TensorInfo require(String name) {
    TensorInfo t = byName.get(name);
    if (t == null) {
      throw new NoSuchElementException(path + ": no tensor '" + name + "'");
    }
    return t;
  }

  /** A read-only little-endian view of {@code length} bytes at absolute file offset {@code offset}. */
  private ByteBuffer region(long offset, int length) {
    if (closed) {
      throw new IllegalStateException(path + ": file is closed");
    }
    try {
      MappedByteBuffer whole = wholeDataMap();
      ByteBuffer view = whole != null
          ? whole.slice((int) (offset - header.dataStart()), length)
          : channel.map(FileChannel.MapMode.READ_ONLY, offset, length);
      return view.order(ByteOrder.LITTLE_ENDIAN);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot map " + path + ": " + e.getMessage(), e);
    }
  }

  /** The mapped data section, or null when it exceeds one buffer and regions are mapped one by one. */
  private MappedByteBuffer wholeDataMap() throws IOException {
    MappedByteBuffer m = dataMap;
    if (m == null && dataSize <= Integer.MAX_VALUE) {
      synchronized (this) {
        if (dataMap == null) {
          dataMap = channel.map(FileChannel.MapMode.READ_ONLY, header.dataStart(), dataSize);
        }
        m = dataMap;
      }
    }
    return m;
  }

  /** Closes the file; {@code data} and {@code copyTo} then throw IllegalStateException, buffers already returned stay readable. */
  @Override
  public void close() {
    closed = true;
    dataMap = null;
    try {
      channel.close();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot close " + path + ": " + e.getMessage(), e);
    }
  }

  @Override
  public String toString() {
    return "SafetensorsFile[" + path + ", " + byName.size() + " tensors]";
  }
}
