package org.rlhfnode.runtime.plan;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The devices one role runs on, as the planner sees them: a machine label, the device ids on it and how
 * many nodes the group spans. Two roles share memory exactly when their groups name the same machine and
 * at least one common id ({@link #overlaps}). Groups come from a placement string ({@code "cpu"} or
 * {@code "cuda:0,1,2,3"}, ids local to the machine, checked for syntax only: planning needs no GPU) or from
 * OpenRLHF-style counts (nodes × devices per node), which get ids {@code 0..n-1}.
 *
 * @param machine which machine (or which set of machines) the ids belong to
 * @param ids the device ids, in order, without repeats
 * @param nodes how many machines the group spans
 * @param label how the group was given ({@code cuda:0,1}, {@code cpu}, {@code 2x8})
 */
public record DeviceGroup(String machine, List<String> ids, int nodes, String label) {
  public DeviceGroup {
    ids = List.copyOf(ids);
    if (ids.isEmpty()) {
      throw new IllegalArgumentException("a device group needs at least one device");
    }
    if (nodes < 1) {
      throw new IllegalArgumentException("a device group spans at least one node, got " + nodes);
    }
  }

  /**
   * Parses a placement group {@code "cpu"} or {@code "cuda:<comma list of ids>"} on {@code machine}; the
   * error names {@code flag}.
   */
  public static DeviceGroup parse(String text, String machine, String flag) {
    String v = text == null ? "" : text.trim().toLowerCase(Locale.ROOT);
    if (v.equals("cpu")) {
      return new DeviceGroup(machine, List.of("cpu"), 1, "cpu");
    }
    if (!v.startsWith("cuda:") || v.length() == 5) {
      throw new IllegalArgumentException("--" + flag + " '" + text + "': expected cpu or cuda:<comma list of ids>");
    }
    Set<String> ids = new LinkedHashSet<>();
    for (String id : v.substring(5).split(",")) {
      String t = id.trim();
      if (!t.matches("\\d+")) {
        throw new IllegalArgumentException("--" + flag + " '" + text + "': '" + t + "' is not a device id");
      }
      if (!ids.add(String.valueOf(Integer.parseInt(t)))) {
        throw new IllegalArgumentException("--" + flag + " '" + text + "': device " + t + " is listed twice");
      }
    }
    return new DeviceGroup(machine, new ArrayList<>(ids), 1, "cuda:" + String.join(",", ids));
  }

  /** {@code nodes × perNode} devices with ids {@code 0..n-1} on {@code machine}. */
  public static DeviceGroup counted(String machine, int nodes, int perNode, String flags) {
    if (nodes < 1 || perNode < 1) {
      throw new IllegalArgumentException(flags + " must be ≥ 1, got " + nodes + " × " + perNode);
    }
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < nodes * perNode; i++) {
      ids.add(String.valueOf(i));
    }
    return new DeviceGroup(machine, ids, nodes, nodes + "x" + perNode);
  }

  /** The same devices on another machine label (used to colocate or to separate groups). */
  public DeviceGroup onMachine(String other) {
    return new DeviceGroup(other, ids, nodes, label);
  }

  /** Number of devices. */
  public int devices() {
    return ids.size();
  }

  /** Devices per node (at least one). */
  public int devicesPerNode() {
    return Math.max(1, (devices() + nodes - 1) / nodes);
  }

  /** True for the host ({@code cpu}) rather than accelerators. */
  public boolean isCpu() {
    return ids.equals(List.of("cpu"));
  }

  /** Whether the two groups have a device in common (same machine, a common id). */
  public boolean overlaps(DeviceGroup other) {
    return machine.equals(other.machine) && !Collections.disjoint(ids, other.ids);
  }
}
