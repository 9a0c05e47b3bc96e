package org.rlhfnode.node.cli.train;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.rlhfnode.node.cli.train.DataParallelCommandsTest.assertSameColumn;
import static org.rlhfnode.node.cli.train.DataParallelCommandsTest.assertSameModel;
import static org.rlhfnode.node.cli.train.TrainCommandsTest.common;
import static org.rlhfnode.node.cli.train.TrainCommandsTest.data;
import static org.rlhfnode.node.cli.train.TrainCommandsTest.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.rlhfnode.node.cli.CliTest;

/**
 * {@code train sft|rm|dpo|kto --packing_samples}: the same loss per step (and eval loss, accuracies) as the
 * unpacked run within 1e-5 relative, the same saved model (1e-4), and a summary line showing the padding the
 * packed forwards skipped.
 */
class PackingCommandsTest {
  private static final Pattern SUMMARY =
      Pattern.compile("packing_samples: (\\d+) tokens packed from (\\d+) padded slots");

  /**
   * The example data with every fourth answer four times as long: the example answers are all about as
   * long, so packing them into rows as long as a micro-batch's longest sequence would save nothing.
   */
  private static String varied(String name, Path dir, String... fields) throws Exception {
    Path file = dir.resolve(name);
    if (Files.exists(file)) { // the packed run reads what the unpacked one was given
      return file.toString();
    }
    ObjectMapper json = new ObjectMapper();
    List<String> out = new ArrayList<>();
    List<String> lines = Files.readAllLines(Path.of(data(name)));
    for (int i = 0; i < lines.size(); i++) {
      ObjectNode row = (ObjectNode) json.readTree(lines.get(i));
      if (i % 4 == 0) {
        for (String f : fields) {
          row.put(f, (row.get(f).asText() + " ").repeat(4).trim());
        }
      }
      out.add(json.writeValueAsString(row));
    }
    Files.write(file, out);
    return file.toString();
  }

  private static List<String> args(String algo, Path data, Path save, String... extra) throws Exception {
    Files.createDirectories(data);
    List<String> a = common(save);
    a.addAll(switch (algo) {
      case "sft" -> List.of("--dataset", varied("sft.jsonl", data, "output"), "--input_key", "input", "--output_key",
          "output");
      case "kto" -> List.of("--dataset", varied("kto.jsonl", data, "completion"), "--input_key", "prompt",
          "--output_key", "completion", "--lora_rank", "4", "--lora_alpha", "8");
      default -> List.of("--dataset", varied("preference.jsonl", data, "chosen", "rejected"), "--prompt_key", "prompt");
    });
    a.addAll(List.of("--max_samples", "96", "--micro_train_batch_size", "4", "--train_batch_size", "8", "--max_steps",
        "4", "--eval_split", "0.2", "--eval_steps", "2", "--threads", "1"));
    a.addAll(List.of(extra));
    return a;
  }

  @ParameterizedTest
  @ValueSource(strings = {"sft", "rm", "dpo", "kto"})
  void packedTrainingMatchesUnpacked(String algo, @TempDir Path tmp) throws Exception {
    Path plain = tmp.resolve("plain");
    Path packed = tmp.resolve("packed");
    CliTest.Run unpackedRun = train(algo, args(algo, tmp.resolve("data"), plain));
    assertTrue(!unpackedRun.out().contains("packing_samples"), unpackedRun.out());
    CliTest.Run run = train(algo, args(algo, tmp.resolve("data"), packed, "--packing_samples"));
    Matcher m = SUMMARY.matcher(run.out());
    assertTrue(m.find(), run.out());
    long tokens = Long.parseLong(m.group(1));
    long paddedSlots = Long.parseLong(m.group(2));
    assertTrue(tokens > 0 && tokens < 0.9 * paddedSlots, run.out());
    assertSameColumn(plain, packed, "loss");
    assertSameColumn(plain, packed, "eval_loss");
    if (!algo.equals("sft")) {
      assertSameColumn(plain, packed, algo.equals("kto") ? "eval_kto_margin" : "eval_reward_accuracy");
    }
    // float rounding in near-zero gradients grows through Adam's 1/√v over the steps: 1e-4 of each tensor's scale
    assertSameModel(plain, packed, 1e-4);
  }
}
