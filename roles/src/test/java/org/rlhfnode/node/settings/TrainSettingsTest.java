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
  void helpGivesEachSettingItsCommentFromReferenceConf() {
    String help = TrainSettings.describe();
    int offload = help.indexOf("--adam_offload ");
    assertTrue(offload >= 0, help);
    String next = help.substring(offload).lines().skip(1).findFirst().orElse("");
    assertTrue(next.contains("no effect on a CPU run"), next);
    assertTrue(help.contains("0: replicated, gradients all-reduced"), "--zero_stage is described");
  }
}
