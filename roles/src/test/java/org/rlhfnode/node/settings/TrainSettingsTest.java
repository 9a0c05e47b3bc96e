package org.rlhfnode.node.settings;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A run file's rlhf settings, flags over the file, and the file's other sections for the node. */
class TrainSettingsTest {
  @TempDir
  Path tmp;

  @Test
  void flagsWinOverTheFileAndOtherSectionsAreKeptForTheNode() throws Exception {
    Path file = tmp.resolve("run.conf");
    Files.writeString(file, """
        rlhf {
          ppo { rollout_batch_size = 16, max_staleness = 1 }
          weight_sync { weight_sync_transport = "gloo" }
        }
        pekko.remote.artery.advanced.maximum-frame-size = 3 MiB
        """);
    TrainSettings s = TrainSettings.parse(List.of("--config", file.toString(), "--max_staleness", "0"));
    assertEquals(16, s.integer("ppo.rollout_batch_size"));
    assertEquals(0, s.integer("ppo.max_staleness"));
    assertEquals("gloo", s.asConfig().getString("rlhf.weight_sync.weight_sync_transport"));
    assertEquals(3L << 20, s.otherSections().getBytes("pekko.remote.artery.advanced.maximum-frame-size"));
    assertFalse(s.otherSections().hasPath("rlhf"));
  }

  @Test
  void anUnknownKeyInTheFileIsNamed() throws Exception {
    Path file = tmp.resolve("bad.conf");
    Files.writeString(file, "rlhf { ppo { rollout_batchsize = 16 } }\n");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> TrainSettings.parse(List.of("--config", file.toString())));
    assertTrue(e.getMessage().contains("rollout_batchsize"), e.getMessage());
  }

  @Test
  void wandbIsRefusedPointingAtTensorBoardAndTheReport() throws Exception {
    for (List<String> args : List.of(List.of("--use_wandb", "KEY"), List.of("--wandb_project", "p"),
        List.of("--wandb_run_name=x"))) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TrainSettings.parse(args));
      assertTrue(e.getMessage().startsWith(args.get(0).split("=")[0] + ": Weights & Biases is not supported"),
          e.getMessage());
      assertTrue(e.getMessage().contains("--use_tensorboard DIR") && e.getMessage().contains("report.html"),
          e.getMessage());
      assertEquals(1, e.getMessage().lines().count());
    }
    Path file = tmp.resolve("wandb.conf");
    Files.writeString(file, "rlhf { train { use_wandb = true } }\n");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> TrainSettings.parse(List.of("--config", file.toString())));
    assertTrue(e.getMessage().startsWith(file + ": 'train.use_wandb': Weights & Biases"), e.getMessage());
    assertEquals("/tmp/tb", TrainSettings.parse(List.of("--use_tensorboard", "/tmp/tb")).optString(
        "train.use_tensorboard"));
  }

  @Test
  void helpGivesEachSettingItsCommentFromReferenceConf() {
    String help = TrainSettings.describe();
    int offload = help.indexOf("--adam_offload ");
    assertTrue(offload >= 0, help);
    String next = help.substring(offload).lines().skip(1).findFirst().orElse("");
    assertTrue(next.contains("no effect on a CPU run"), next);
    assertTrue(help.contains("0: replicated, gradients all-reduced"), "--zero_stage is described");
  }
}
