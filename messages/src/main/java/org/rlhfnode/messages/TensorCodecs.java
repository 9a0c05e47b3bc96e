package org.rlhfnode.messages;

import java.util.List;
import java.util.function.BiConsumer;
import java.util.function.Function;
import org.apache.pekko.actor.typed.ActorRef;

/**
 * The binary layout of each {@link TensorMessage} type, after the format-version header that
 * {@link TensorSerializer} writes. One codec per type, named by its manifest. The layouts
 * (little-endian; string = i32 length + UTF-8, ref = string, tensors = i32 count + sorted
 * (name, tensor), tensor = u8 dtype code, u8 rank, i64 × rank shape, raw bytes; id = a {@link RequestId} as
 * i64 lineage, i32 iteration, string kind, i32 part):
 * <ul>
 *   <li>GeneratedSequences: id requestId, i64 policyVersion, i32 samplesPerPrompt, tensors</li>
 *   <li>ScoreRequest: id requestId, i64 policyVersion, ref replyTo, tensors, i32 count + string × count labels</li>
 *   <li>ScoredExperience: id requestId, i64 policyVersion, string scorer (a Role name), tensors</li>
 *   <li>ExperienceBatch: id batchId, i64 iteration, i64 policyVersion, tensors</li>
 *   <li>WeightChunk: i64 version, i32 index, i32 total, i64 offset, i64 totalBytes, u32 checksum,
 *       ref replyTo, i32 length + raw bytes</li>
 * </ul>
 */
final class TensorCodecs {

  /** Writer and reader of one message type. */
  record Codec<T extends TensorMessage>(Class<T> type, String manifest, BiConsumer<T, WireWriter> writer,
      Function<WireReader, T> reader) {

    void write(Object message, WireWriter w) {
      writer.accept(type.cast(message), w);
    }

    T read(WireReader r) {
      return reader.apply(r);
    }
  }

  static final List<Codec<?>> ALL = List.of(
      new Codec<>(GeneratedSequences.class, "GeneratedSequences", TensorCodecs::writeGenerated,
          TensorCodecs::readGenerated),
      new Codec<>(ScoreRequest.class, "ScoreRequest", TensorCodecs::writeScoreRequest,
          TensorCodecs::readScoreRequest),
      new Codec<>(ScoredExperience.class, "ScoredExperience", TensorCodecs::writeScored,
          TensorCodecs::readScored),
      new Codec<>(ExperienceBatch.class, "ExperienceBatch", TensorCodecs::writeBatch, TensorCodecs::readBatch),
      new Codec<>(WeightChunk.class, "WeightChunk", TensorCodecs::writeChunk, TensorCodecs::readChunk));

  private TensorCodecs() {}

  /** The codec for a message's class, or null if the type has none. */
  static Codec<?> forClass(Class<?> type) {
    for (Codec<?> c : ALL) {
      if (c.type() == type) {
        return c;
      }
    }
    return null;
  }

  /** The codec for a manifest, or null if unknown. */
  static Codec<?> forManifest(String manifest) {
    for (Codec<?> c : ALL) {
      if (c.manifest().equals(manifest)) {
        return c;
      }
    }
    return null;
  }

  private static void writeGenerated(GeneratedSequences m, WireWriter w) {
    w.requestId(m.requestId()).i64(m.policyVersion()).i32(m.samplesPerPrompt()).tensors(m.tensors());
  }

  private static GeneratedSequences readGenerated(WireReader r) {
    return new GeneratedSequences(r.requestId("requestId"), r.i64("policyVersion"), r.i32("samplesPerPrompt"),
        r.tensors("tensors"));
  }

  private static void writeScoreRequest(ScoreRequest m, WireWriter w) {
    w.requestId(m.requestId()).i64(m.policyVersion()).ref(m.replyTo()).tensors(m.tensors()).i32(m.labels().size());
    m.labels().forEach(w::string);
  }

  private static ScoreRequest readScoreRequest(WireReader r) {
    RequestId requestId = r.requestId("requestId");
    long policyVersion = r.i64("policyVersion");
    ActorRef<ScoreReply> replyTo = r.ref("replyTo");
    TensorMap tensors = r.tensors("tensors");
    int count = r.i32("labels");
    if (count < 0) {
      throw new IllegalArgumentException("ScoreRequest: negative label count " + count);
    }
    java.util.List<String> labels = new java.util.ArrayList<>(Math.min(count, 1 << 16));
    for (int i = 0; i < count; i++) {
      labels.add(r.string("labels[" + i + "]"));
    }
    return new ScoreRequest(requestId, policyVersion, tensors, labels, replyTo);
  }

  private static void writeScored(ScoredExperience m, WireWriter w) {
    w.requestId(m.requestId()).i64(m.policyVersion()).constant(m.scorer()).tensors(m.tensors());
  }

  private static ScoredExperience readScored(WireReader r) {
    return new ScoredExperience(r.requestId("requestId"), r.i64("policyVersion"), r.constant(Role.class, "scorer"),
        r.tensors("tensors"));
  }

  private static void writeBatch(ExperienceBatch m, WireWriter w) {
    w.requestId(m.batchId()).i64(m.iteration()).i64(m.policyVersion()).tensors(m.tensors());
  }

  private static ExperienceBatch readBatch(WireReader r) {
    return new ExperienceBatch(r.requestId("batchId"), r.i64("iteration"), r.i64("policyVersion"),
        r.tensors("tensors"));
  }

  private static void writeChunk(WeightChunk m, WireWriter w) {
    w.i64(m.version()).i32(m.index()).i32(m.total()).i64(m.offset()).i64(m.totalBytes())
        .i32((int) m.checksum()).ref(m.replyTo()).bytes(m.bytes());
  }

  private static WeightChunk readChunk(WireReader r) {
    long version = r.i64("version");
    int index = r.i32("index");
    int total = r.i32("total");
    long offset = r.i64("offset");
    long totalBytes = r.i64("totalBytes");
    long checksum = Integer.toUnsignedLong(r.i32("checksum"));
    ActorRef<WeightChunkAck> replyTo = r.ref("replyTo");
    return new WeightChunk(version, index, total, offset, totalBytes, checksum, r.bytes("bytes"), replyTo);
  }
}
