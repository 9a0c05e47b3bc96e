package org.rlhfnode.node.cli.train;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code train}: the offline alignment trainers. */
@Command(name = "train", mixinStandardHelpOptions = true, description = "Train a model (SFT, RM, DPO/IPO/cDPO, KTO, C-SFT).",
    subcommands = {SftCommand.class, RmCommand.class, DpoCommand.class, KtoCommand.class, CsftCommand.class})
public final class TrainCommand implements Runnable {
  @Override
  public void run() {
    throw new CommandLine.ParameterException(new CommandLine(this), "train needs an algorithm: sft, rm, dpo, kto or csft");
  }

  /** Appends the list of settings to every algorithm's --help. */
  public static void describeSettings(CommandLine train) {
    String footer = "%nSettings (flags win over --config FILE, which wins over the defaults):%n"
        + TrainSettings.describe().replace("%", "%%");
    train.getSubcommands().values().forEach(c -> c.getCommandSpec().usageMessage().footer(footer));
  }
}
