package org.rlhfnode.node;

import org.rlhfnode.node.cli.Cli;

/**
 * The single entry point of {@code rlhf-node.jar}: tool subcommands ({@code forward},
 * {@code generate}, {@code init-model}, {@code bench}) and, later, node mode ({@code --role}).
 */
public final class Main {
  static {
    // DJL phones home for metadata unless told otherwise before its first class loads.
    System.setProperty("ai.djl.offline", "true");
    System.setProperty("OPT_OUT_TRACKING", "true");
    // before libtorch loads: its OpenMP runtime reads the wait policy once (see NativeEnvironment),
    // and only the bundled libtorch may load, whatever the machine has installed (see NativeLibraries)
    org.rlhfnode.runtime.tensor.NativeEnvironment.prepare();
  }

  private Main() {}

  public static void main(String[] args) {
    System.exit(Cli.run(args));
  }
}
