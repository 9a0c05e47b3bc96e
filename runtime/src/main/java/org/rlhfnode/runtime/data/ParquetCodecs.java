package org.rlhfnode.runtime.data;

import io.airlift.compress.Compressor;
import io.airlift.compress.Decompressor;
import io.airlift.compress.MalformedInputException;
import io.airlift.compress.lz4.Lz4Compressor;
import io.airlift.compress.lz4.Lz4Decompressor;
import io.airlift.compress.snappy.SnappyCompressor;
import io.airlift.compress.snappy.SnappyDecompressor;
import io.airlift.compress.zstd.ZstdCompressor;
import io.airlift.compress.zstd.ZstdDecompressor;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;
import org.apache.parquet.bytes.BytesInput;
import org.apache.parquet.compression.CompressionCodecFactory;
import org.apache.parquet.hadoop.metadata.CompressionCodecName;

/**
 * Page compression for Parquet without Hadoop's codec classes or native libraries: Snappy, Zstandard
 * and LZ4 (raw blocks, Parquet's {@code LZ4_RAW}) in pure Java from aircompressor, gzip from
 * {@code java.util.zip}. These cover what pyarrow and the HuggingFace hub write (Snappy by default).
 * Brotli, LZO and the Hadoop-framed {@code LZ4} are refused with an {@link UnsupportedCodecException}
 * naming the codec. Compression is here for writing test files with the same library.
 */
final class ParquetCodecs implements CompressionCodecFactory {
  /** A page compressed with a codec this reader does not have. */
  static final class UnsupportedCodecException extends IOException {
    private static final long serialVersionUID = 1L;

    UnsupportedCodecException(CompressionCodecName codec) {
      super("compressed with " + codec + ", which rlhf-node does not read (it reads SNAPPY, ZSTD, GZIP, LZ4_RAW "
          + "and UNCOMPRESSED); rewrite the file, e.g. pyarrow.parquet.write_table(table, path, compression='zstd')");
    }
  }

  @Override
  public BytesInputCompressor getCompressor(CompressionCodecName codec) {
    return new BytesInputCompressor() {
      @Override
      public BytesInput compress(BytesInput input) throws IOException {
        return BytesInput.from(ParquetCodecs.compress(codec, input.toByteArray()));
      }

      @Override
      public CompressionCodecName getCodecName() {
        return codec;
      }

      @Override
      public void release() {}
    };
  }

  @Override
  public BytesInputDecompressor getDecompressor(CompressionCodecName codec) {
    return new BytesInputDecompressor() {
      @Override
      public BytesInput decompress(BytesInput input, int uncompressedSize) throws IOException {
        return BytesInput.from(ParquetCodecs.decompress(codec, input.toByteArray(), uncompressedSize));
      }

      @Override
      public void decompress(ByteBuffer input, int compressedSize, ByteBuffer output, int uncompressedSize)
          throws IOException {
        byte[] in = new byte[compressedSize];
        input.get(in);
        output.put(ParquetCodecs.decompress(codec, in, uncompressedSize));
      }

      @Override
      public void release() {}
    };
  }

  @Override
  public void release() {}

  static byte[] decompress(CompressionCodecName codec, byte[] in, int size) throws IOException {
    if (codec == CompressionCodecName.UNCOMPRESSED) {
      return in;
    }
    byte[] out = new byte[size];
    int n;
    if (codec == CompressionCodecName.GZIP) {
      try (InputStream z = new GZIPInputStream(new ByteArrayInputStream(in))) {
        n = z.readNBytes(out, 0, size);
      }
    } else {
      try {
        n = block(codec).decompress(in, 0, in.length, out, 0, size);
      } catch (MalformedInputException e) {
        throw new IOException("corrupt " + codec + " page: " + e.getMessage(), e);
      }
    }
    if (n != size) {
      throw new IOException("corrupt " + codec + " page: " + n + " bytes instead of " + size);
    }
    return out;
  }

  static byte[] compress(CompressionCodecName codec, byte[] in) throws IOException {
    if (codec == CompressionCodecName.UNCOMPRESSED) {
      return in;
    }
    if (codec == CompressionCodecName.GZIP) {
      ByteArrayOutputStream bytes = new ByteArrayOutputStream();
      try (GZIPOutputStream z = new GZIPOutputStream(bytes)) {
        z.write(in);
      }
      return bytes.toByteArray();
    }
    Compressor c = codec == CompressionCodecName.SNAPPY ? new SnappyCompressor()
        : codec == CompressionCodecName.ZSTD ? new ZstdCompressor()
        : codec == CompressionCodecName.LZ4_RAW ? new Lz4Compressor() : null;
    if (c == null) {
      throw new UnsupportedCodecException(codec);
    }
    byte[] out = new byte[c.maxCompressedLength(in.length)];
    int n = c.compress(in, 0, in.length, out, 0, out.length);
    return java.util.Arrays.copyOf(out, n);
  }

  private static Decompressor block(CompressionCodecName codec) throws UnsupportedCodecException {
    switch (codec) {
      case SNAPPY: return new SnappyDecompressor();
      case ZSTD: return new ZstdDecompressor();
      case LZ4_RAW: return new Lz4Decompressor();
      default: throw new UnsupportedCodecException(codec);
    }
  }
}
