package org.rlhfnode.node.cli;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.concurrent.Callable;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.rlhfnode.runtime.model.CausalLm;
import org.rlhfnode.runtime.tensor.Tensors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code forward}: the logits of one unpadded sequence as {@code {"shape":[T,V],"logits":[...]}}
 * (row-major float32). A stable contract other tools depend on. {@code --tp N} computes them
 * tensor-parallel on N rank threads (rank 0 writes the file).
 */
@Command(name = "forward", mixinStandardHelpOptions = true,
    description = "Write the logits of one token sequence as JSON.")
final class ForwardCommand implements Callable<Integer> {
  @Mixin ModelOptions modelOptions;

  @Option(names = "--input-ids", required = true, paramLabel = "IDS", description = "Comma-separated token ids, e.g. 1,5,9.")
  String inputIds;

  @Option(names = "--output", required = true, paramLabel = "FILE.json", description = "Where to write the logits.")
  Path output;

  @Option(names = "--tp", defaultValue = "1", description = "Tensor-parallel ranks (default: ${DEFAULT-VALUE}).")
  int tp;

  @Override
  public Integer call() throws IOException {
    long[] ids = TokenIds.parse(inputIds);
    if (tp != 1) {
      // every rank ends the forward with the whole logits; rank 0's are written
      List<Logits> perRank = modelOptions.onRanks(tp, "forward", (model, group) -> logits(model, ids));
      write(output, perRank.get(0));
      return 0;
    }
    try (CausalLm model = modelOptions.load()) {
      write(output, logits(model, ids));
    }
    return 0;
  }

  /** Logits [T, V] of one sequence: the shape and the row-major values. */
  private record Logits(long[] shape, float[] values) {}

  private static Logits logits(CausalLm model, long[] ids) {
    try (PointerScope scope = new PointerScope(); InferenceMode guard = new InferenceMode()) {
      model.checkTokenIds(ids, "--input-ids");
      Tensor input = Tensors.longs(ids, 1, ids.length).to(model.device().torchDevice(), ScalarType.Long);
      Tensor mask = torch.ones_like(input);
      Tensor logits = model.forward(input, mask).select(0, 0); // [T, V]
      return new Logits(Tensors.shape(logits), Tensors.toFloats(logits));
    }
  }

  private static void write(Path file, Logits logits) throws IOException {
    long[] shape = logits.shape();
    float[] values = logits.values();
    Path parent = file.toAbsolutePath().getParent();
    Files.createDirectories(parent);
    Path tmp = Files.createTempFile(parent, ".forward", ".json");
    try (JsonGenerator g = new JsonFactory().createGenerator(tmp.toFile(), JsonEncoding.UTF8)) {
      g.writeStartObject();
      g.writeArrayFieldStart("shape");
      for (long d : shape) {
        g.writeNumber(d);
      }
      g.writeEndArray();
      g.writeArrayFieldStart("logits");
      for (float v : values) {
        g.writeNumber(v);
      }
      g.writeEndArray();
      g.writeEndObject();
    }
    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }
}
