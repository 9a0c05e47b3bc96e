package org.rlhfnode.node.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The placement examples in cluster-config/placements ship in the jar and set every device group validly. */
class PlacementExamplesTest {
  private static final List<String> KEYS =
      List.of("actor_devices", "critic_devices", "rollout_devices", "ref_devices", "reward_devices");
  private static final Pattern DEVICES = Pattern.compile("cpu|cuda:\\d+(,\\d+)*");

  @ParameterizedTest
  @ValueSource(strings = {"small-7b.conf", "medium-13b-34b.conf", "large-70b.conf"})
  void placementIncludedFromTheClasspathSetsEveryRoleGroup(String file) {
    Config run = ConfigFactory.parseString("include classpath(\"placements/" + file + "\")").resolve();
    Config placement = run.getConfig("rlhf.placement");
    assertEquals(KEYS.size(), placement.root().size(), placement.root().keySet().toString());
    for (String key : KEYS) {
      String devices = placement.getString(key);
      assertTrue(DEVICES.matcher(devices).matches(), file + ": " + key + " = " + devices);
    }
  }
}
