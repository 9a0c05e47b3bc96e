package org.rlhfnode.runtime.tensor;

import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.global.torch;

/**
 * Where tensors live: {@code cpu} or {@code cuda:N}, chosen at run time. Parsing checks the CUDA
 * index against the devices libtorch sees, so a wrong id fails at start-up with a clear message.
 */
public record DeviceSpec(String name, boolean cuda, int index) {
  public static final DeviceSpec CPU = new DeviceSpec("cpu", false, -1);

  /** Parses {@code cpu}, {@code cuda} (= {@code cuda:0}) or {@code cuda:N}. */
  public static DeviceSpec parse(String s) {
    String v = s.trim().toLowerCase(java.util.Locale.ROOT);
    if (v.equals("cpu")) {
      return CPU;
    }
    if (v.equals("cuda") || v.startsWith("cuda:")) {
      int idx;
      try {
        idx = v.equals("cuda") ? 0 : Integer.parseInt(v.substring(5));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("device '" + s + "': expected cpu or cuda:N");
      }
      long visible = torch.cuda_device_count();
      if (idx < 0 || idx >= visible) {
        throw new IllegalArgumentException("device '" + s + "': libtorch sees " + visible
            + " CUDA device(s) (is the gpu build of rlhf-node.jar in use?)");
      }
      return new DeviceSpec("cuda:" + idx, true, idx);
    }
    throw new IllegalArgumentException("device '" + s + "': expected cpu or cuda:N");
  }

  /** A new libtorch device handle (caller's scope). */
  public Device torchDevice() {
    return new Device(name);
  }

  @Override
  public String toString() {
    return name;
  }
}
