package org.rlhfnode.node.cli.train;

import org.rlhfnode.node.settings.TrainSettings;
import picocli.CommandLine.Command;
import picocli.CommandLine;

/** {@code train}: the offline alignment trainers. */
@Command(name = "train", mixinStandardHelpOptions = true, description = "Train a model (SFT, RM, DPO/IPO/cDPO, KTO, C-SFT, PPO).",
    subcommands = {SftCommand.class, RmCommand.class, DpoCommand.class, KtoCommand.class, CsftCommand.class,
        PpoCommand.class})
public final class TrainCommand implements Runnable {
  @picocli.CommandLine.Spec
  picocli.CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new picocli.CommandLine.ParameterException(spec.commandLine(), "train needs an algorithm: sft, rm, dpo, kto, csft or ppo");
  }

  /** Appends the list of settings to the --help of every algorithm and of {@code rejection-sample}. */
  public static void describeSettings(CommandLine root) {
    String footer = "%nSettings (flags win over --config FILE, which wins over the defaults):%n"
        + TrainSettings.describe().replace("%", "%%");
    root.getSubcommands().get("train").getSubcommands().values()
        .forEach(c -> c.getCommandSpec().usageMessage().footer(footer));
    root.getSubcommands().get("rejection-sample").getCommandSpec().usageMessage().footer(footer);
    root.getSubcommands().get("node").getCommandSpec().usageMessage().footer(footer);
  }
}
